import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/**
 * Writes images [N, C, H, W] with values in [-1, 1] (C = 1 grey or 3 RGB) as one PNG grid of
 * `columns` columns with a 2-pixel border; written to a temporary file and renamed.
 */
export function saveImageGrid(path: string, images: Tensor, columns = Math.ceil(Math.sqrt(images.shape[0] ?? 1))): void {
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new Error(`saveImageGrid: images must be [N, 1 or 3, H, W], got ${formatShape(images.shape)}.`);
  }
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const rows = Math.ceil(n / columns), pad = 2;
  const png = new PNG({ width: columns * (w + pad) + pad, height: rows * (h + pad) + pad });
  png.data.fill(255);
  const values = images.toArray();
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % columns) * (w + pad), oy = pad + Math.floor(k / columns) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((oy + y) * png.width + ox + x) * 4;
        for (let ch = 0; ch < 3; ch++) png.data[o + ch] = byte(values[((k * c + (c === 1 ? 0 : ch)) * h + y) * w + x]!);
        png.data[o + 3] = 255;
      }
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, PNG.sync.write(png));
  renameSync(tmp, path);
}
