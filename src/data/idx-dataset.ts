import { basename } from 'node:path';
import { ConfigError, FormatError } from '../errors';
import type { ImageDataset } from './dataset';
import { readIdx } from './idx-file';
import { areaResampler, padAndScale } from './pixels';

export interface IdxDatasetOptions {
  /** An IDX file of unsigned bytes shaped [count]: one class label per image. */
  labels?: string;
  /** Side of the square images produced (default 32). */
  size?: number;
}

/**
 * The most float32 values loadIdxDataset produces: 2^28 (1 GiB). Resizing can make the images far
 * larger than the file (a file of 1x1 images at size 32 grows 4096-fold), so the output is capped.
 */
export const IDX_DATASET_MAX_VALUES = 2 ** 28;

/**
 * Grey images from an IDX file of unsigned bytes shaped [count, rows, cols] (MNIST's layout, for a
 * user's own MNIST-like file), in [-1, 1] at size x size: square images 4 pixels smaller than `size`
 * (28x28 at the default 32) are padded by 2 pixels of background as loadMnist does, any other size
 * is area-resampled as loadImageFolder does. Labels come from an optional IDX file shaped [count].
 */
export function loadIdxDataset(imagesPath: string, opts: IdxDatasetOptions = {}): ImageDataset {
  const size = opts.size ?? 32;
  if (!Number.isInteger(size) || size < 1) throw new ConfigError('size', `IDX dataset: size must be a positive integer, got ${size}.`);
  const file = basename(imagesPath);
  const images = readIdx(imagesPath);
  if (images.shape.length !== 3) {
    throw new FormatError(file, `IDX: ${file} has shape [${images.shape.join(', ')}]; an images file is shaped [count, rows, cols]: pass the images file, not the labels.`);
  }
  const [count, rows, cols] = images.shape as [number, number, number];
  if (count === 0 || rows === 0 || cols === 0) throw new FormatError(file, `IDX: ${file} has shape [${count}, ${rows}, ${cols}] and so holds no images; pass a file with images in it.`);
  if (count * size * size > IDX_DATASET_MAX_VALUES) {
    throw new FormatError(file, `IDX: ${file} holds ${count} images, ${count * size * size} values at ${size}x${size}, more than the ${IDX_DATASET_MAX_VALUES} (1 GiB) onestep loads at once; use a smaller size or split the file.`);
  }
  let labels: Uint8Array | null = null;
  if (opts.labels !== undefined) {
    const labelFile = basename(opts.labels);
    const l = readIdx(opts.labels);
    if (l.shape.length !== 1 || l.shape[0] !== count) {
      throw new FormatError(labelFile, `IDX: ${labelFile} has shape [${l.shape.join(', ')}] but ${file} holds ${count} images; a labels file is shaped [${count}]: pass the labels that belong to these images.`);
    }
    labels = Uint8Array.from(l.data);
  }
  let out: Float32Array;
  if (rows === cols && size - rows === 4) out = padAndScale(images.data, count, rows, size);
  else {
    out = new Float32Array(count * size * size);
    const resample = areaResampler(cols, rows, size);
    const plane = new Float32Array(rows * cols);
    for (let n = 0; n < count; n++) {
      const src = images.data.subarray(n * rows * cols, (n + 1) * rows * cols);
      for (let i = 0; i < plane.length; i++) plane[i] = src[i]! / 255;
      resample(plane, out, n * size * size);
    }
  }
  return { name: `idx:${imagesPath}`, images: out, labels, count, channels: 1, height: size, width: size };
}
