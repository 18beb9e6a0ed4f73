import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FileAccessError, FormatError } from '../errors';
import { decodePng } from '../io/png';
import { accessProblem, readBytes } from '../io/read-file';
import type { ImageDataset } from './dataset';
import { areaResampler } from './pixels';

export interface ImageFolderOptions {
  /** Side of the square images produced (default 32; a multiple of 4 for the U-Nets). */
  size?: number;
  /** 1 (grey, by luminance 0.2989 R + 0.5870 G + 0.1140 B) or 3 (RGB). Default 1. */
  channels?: 1 | 3;
}

/**
 * Every PNG file in `dir` (sorted by name), resized to size x size, in [-1, 1]; no labels. Hidden
 * files (.DS_Store and the like) are skipped; any other file that is not a .png, or a subfolder, is
 * refused rather than silently left out. FileAccessError if `dir` is missing or not a folder,
 * FormatError for a folder without images or with a file that is not a readable PNG.
 */
export function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): ImageDataset {
  const size = opts.size ?? 32, channels = opts.channels ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new ConfigError('size', `image folder: size must be a positive integer, got ${size}.`);
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', `image folder: channels must be 1 (grey) or 3 (RGB), got ${channels}.`);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new FileAccessError(dir, `image folder: cannot read ${dir}: ${accessProblem(e, 'folder')}.`);
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      throw new FormatError(path, `image folder: ${path} is a folder; onestep reads the PNG images directly inside ${dir}: move it out.`);
    }
    if (!entry.name.toLowerCase().endsWith('.png')) {
      throw new FormatError(path, `image folder: ${path} is not a .png file; onestep reads PNG images: remove it or convert it.`);
    }
    files.push(entry.name);
  }
  files.sort();
  if (files.length === 0) throw new FormatError(dir, `image folder: ${dir} holds no .png files; put the training images there as PNG.`);
  const per = channels * size * size;
  const images = new Float32Array(files.length * per);
  files.forEach((file, n) => {
    const path = join(dir, file);
    const { width: w, height: h, data } = decodePng(readBytes(path, 'image folder'), path);
    // source pixels as channel planes in [0, 1], alpha composited over black
    const planes = Array.from({ length: channels }, () => new Float32Array(w * h));
    for (let i = 0; i < w * h; i++) {
      const a = data[4 * i + 3]! / 255;
      const [r, g, b] = [data[4 * i]! / 255 * a, data[4 * i + 1]! / 255 * a, data[4 * i + 2]! / 255 * a];
      if (channels === 1) planes[0]![i] = 0.2989 * r + 0.587 * g + 0.114 * b;
      else [planes[0]![i], planes[1]![i], planes[2]![i]] = [r, g, b];
    }
    const resample = areaResampler(w, h, size);
    planes.forEach((plane, c) => resample(plane, images, n * per + c * size * size));
  });
  return { name: `folder:${dir}`, images, labels: null, count: files.length, channels, height: size, width: size };
}
