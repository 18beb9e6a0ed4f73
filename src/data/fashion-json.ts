import { FormatError } from '../errors';
import type { ImageDataset } from './dataset';
import { padAndScale } from './pixels';

/** Fashion-MNIST's documented label order. */
export const FASHION_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The fashion-mnist package's files: one JSON file per class, by label. */
export const FASHION_FILES = FASHION_CLASS_NAMES.map((_, c) => `${c}.json`);

/**
 * Fashion-MNIST from the fashion-mnist package's per-class JSON files, parsed (`files[c]` names
 * class c's in errors): 28x28 grey values 0..255, padded to 32x32 and scaled to [-1, 1],
 * labels = class 0..9.
 */
export function fashionFromJson(parsed: readonly unknown[], files: readonly string[] = FASHION_FILES): ImageDataset {
  if (parsed.length !== 10) throw new FormatError('fashion-mnist', `Fashion-MNIST: ${parsed.length} class files given; it has 10 (${FASHION_FILES.join(', ')}).`);
  const classes = parsed.map((json, c) => {
    const data = (json as { data?: unknown } | null)?.data;
    // the package's 0.json holds two empty entries among its images (1.1.0): skipped
    const rows = Array.isArray(data) ? data.filter((r) => !(Array.isArray(r) && r.length === 0)) : null;
    if (!rows || rows.some((r) => !Array.isArray(r) || r.length !== 784)) {
      throw new FormatError(files[c]!, `Fashion-MNIST: ${files[c]} does not hold a 'data' array of 784-value images.`);
    }
    return rows as number[][];
  });
  const count = classes.reduce((n, rows) => n + rows.length, 0);
  const raw = new Uint8Array(count * 784), labels = new Uint8Array(count);
  let k = 0;
  classes.forEach((rows, c) => {
    for (const r of rows) {
      raw.set(r, k * 784);
      labels[k++] = c;
    }
  });
  return { name: 'fashion-mnist', images: padAndScale(raw, count, 28, 32), labels, count, channels: 1, height: 32, width: 32, classNames: [...FASHION_CLASS_NAMES] };
}
