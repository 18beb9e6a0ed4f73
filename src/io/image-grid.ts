import { formatShape } from '../tensor/shape';
import { tensor } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';

// Images as RGBA bytes and back, on any platform: what a PNG file (png.ts) and a canvas's ImageData
// in a browser both hold.

/** RGBA pixels, 8 bits per channel, row by row (the layout of a canvas's ImageData and of pngjs). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** Images' values already read back, row-major, with their shape. */
export interface ImageValues {
  shape: readonly number[];
  values: ArrayLike<number>;
}

/**
 * Images [N, C, H, W] with values in [-1, 1] (C = 1 grey or 3 RGB) as one RGBA grid of `columns`
 * columns, `pad` white pixels around and between them. Given ImageValues, nothing is read back.
 */
export function imageGrid(images: Tensor | ImageValues, columns = Math.ceil(Math.sqrt(images.shape[0] ?? 1)), pad = 2): RgbaImage & { data: Uint8ClampedArray } {
  checkGridInput('imageGrid', images.shape, columns);
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const rows = Math.ceil(n / columns);
  const width = columns * (w + pad) + pad, height = rows * (h + pad) + pad;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const values = 'values' in images ? images.values : images.toArray();
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % columns) * (w + pad), oy = pad + Math.floor(k / columns) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((oy + y) * width + ox + x) * 4;
        for (let ch = 0; ch < 3; ch++) data[o + ch] = Math.round((values[((k * c + (c === 1 ? 0 : ch)) * h + y) * w + x]! + 1) * 127.5);
      }
    }
  }
  return { width, height, data };
}

/** Throws, naming `op`, unless the images' shape is [N, 1 or 3, H, W] and columns a positive integer. */
export function checkGridInput(op: string, shape: readonly number[], columns: number): void {
  if (shape.length !== 4 || (shape[1] !== 1 && shape[1] !== 3)) {
    throw new Error(`${op}: images must be [N, 1 or 3, H, W], got ${formatShape(shape)}.`);
  }
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`${op}: columns must be a positive integer, got ${columns}.`);
}

/**
 * One image [1, C, H, W] in [-1, 1] from RGBA pixels: C = 1 takes the luma (ITU-R BT.601), C = 3
 * the colour channels; alpha is ignored.
 */
export function imageFromRgba(image: RgbaImage, channels: 1 | 3 = 1): Tensor {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) throw new Error(`imageFromRgba: ${data.length} bytes for a ${width}x${height} RGBA image (needs ${width * height * 4}).`);
  const plane = width * height;
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const r = data[4 * i]!, g = data[4 * i + 1]!, b = data[4 * i + 2]!;
    if (channels === 1) out[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 127.5 - 1;
    else [r, g, b].forEach((v, ch) => (out[ch * plane + i] = v / 127.5 - 1));
  }
  return tensor(out, { shape: [1, channels, height, width] });
}
