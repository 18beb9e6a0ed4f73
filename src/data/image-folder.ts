import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { ImageDataset } from './dataset';

export interface ImageFolderOptions {
  /** Side of the square images produced (default 32; a multiple of 4 for the U-Nets). */
  size?: number;
  /** 1 (grey, by luminance 0.2989 R + 0.5870 G + 0.1140 B) or 3 (RGB). Default 1. */
  channels?: 1 | 3;
}

/**
 * Weights of an area (box-filter) resampling from n source pixels to m: output pixel j covers
 * source [j n/m, (j+1) n/m), each source pixel weighted by its overlap. Works both ways.
 */
function areaWeights(n: number, m: number): { start: number; weights: number[] }[] {
  const scale = n / m;
  return Array.from({ length: m }, (_, j) => {
    const a = j * scale, b = (j + 1) * scale;
    const start = Math.floor(a), end = Math.min(n, Math.ceil(b));
    const weights: number[] = [];
    for (let i = start; i < end; i++) weights.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
    return { start, weights };
  });
}

/** Every PNG file in `dir` (sorted by name), resized to size x size, in [-1, 1]; no labels. */
export function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): ImageDataset {
  const size = opts.size ?? 32, channels = opts.channels ?? 1;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  } catch (e) {
    throw new Error(`image folder: cannot read ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}.`);
  }
  if (files.length === 0) throw new Error(`image folder: ${dir} holds no .png files; put the training images there as PNG.`);
  const per = channels * size * size;
  const images = new Float32Array(files.length * per);
  files.forEach((file, n) => {
    let png: PNG;
    try {
      png = PNG.sync.read(readFileSync(join(dir, file)));
    } catch (e) {
      throw new Error(`image folder: ${join(dir, file)} is not a readable PNG (${(e as Error).message}); remove or re-save it.`);
    }
    const { width: w, height: h, data } = png;
    // source pixels as channel planes in [0, 1], alpha composited over black
    const planes = Array.from({ length: channels }, () => new Float32Array(w * h));
    for (let i = 0; i < w * h; i++) {
      const a = data[4 * i + 3]! / 255;
      const [r, g, b] = [data[4 * i]! / 255 * a, data[4 * i + 1]! / 255 * a, data[4 * i + 2]! / 255 * a];
      if (channels === 1) planes[0]![i] = 0.2989 * r + 0.587 * g + 0.114 * b;
      else [planes[0]![i], planes[1]![i], planes[2]![i]] = [r, g, b];
    }
    const rows = areaWeights(h, size), cols = areaWeights(w, size);
    planes.forEach((plane, c) => {
      for (let y = 0; y < size; y++) {
        const ry = rows[y]!;
        for (let x = 0; x < size; x++) {
          const cx = cols[x]!;
          let v = 0;
          ry.weights.forEach((wy, dy) => cx.weights.forEach((wx, dx) => (v += wy * wx * plane[(ry.start + dy) * w + cx.start + dx]!)));
          images[n * per + (c * size + y) * size + x] = 2 * v - 1;
        }
      }
    });
  });
  return { name: `folder:${dir}`, images, labels: null, count: files.length, channels, height: size, width: size };
}
