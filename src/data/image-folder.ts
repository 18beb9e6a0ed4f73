import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FileAccessError, FormatError } from '../errors';
import { decodeJpeg } from '../io/jpeg';
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

/** The entries of a folder that are not hidden (.DS_Store and the like), as folders and files. */
function listFolder(dir: string): { folders: string[]; files: string[] } {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new FileAccessError(dir, `image folder: cannot read ${dir}: ${accessProblem(e, 'folder')}.`);
  }
  const visible = entries.filter((e) => !e.name.startsWith('.'));
  return {
    folders: visible.filter((e) => e.isDirectory()).map((e) => e.name).sort(),
    files: visible.filter((e) => !e.isDirectory()).map((e) => e.name).sort(),
  };
}

const isJpegName = (name: string) => /\.jpe?g$/i.test(name);

/** The PNG and JPEG files of `dir` (paths, sorted by name); any other file is refused rather than left out. */
function imageFiles(dir: string, files: string[]): string[] {
  return files.map((name) => {
    const path = join(dir, name);
    if (!/\.png$/i.test(name) && !isJpegName(name)) {
      throw new FormatError(path, `image folder: ${path} is not a .png, .jpg or .jpeg file; onestep reads PNG and JPEG images: remove it or convert it.`);
    }
    return path;
  });
}

/**
 * Decodes a PNG or JPEG file into RGBA. The bytes decide when they start with either signature (as
 * PIL does: ImageNet has a PNG named .JPEG), else the name: a file that is neither is refused by the
 * decoder its extension names.
 */
function decodeImage(bytes: Uint8Array, path: string): { width: number; height: number; data: Uint8Array } {
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  return jpeg || (!png && isJpegName(path)) ? decodeJpeg(bytes, path) : decodePng(bytes, path);
}

/**
 * PNG and JPEG images (.png, .jpg, .jpeg, any case; decodePng, decodeJpeg) resized to size x size,
 * in [-1, 1], from one of two layouts: the image files directly in `dir` (sorted by name; no
 * labels), or one subfolder per class (the usual ImageFolder layout: labels are the subfolders'
 * indices in name order, `classNames` their names; images ordered class by class). Hidden files
 * (.DS_Store and the like) are skipped; any other file that is not a .png, .jpg or .jpeg is refused
 * rather than silently left out, as are folders that mix the two layouts or nest deeper.
 * FileAccessError if `dir` is missing or not a folder, FormatError for a folder (or class) without
 * images or with a file that is not a readable PNG or JPEG.
 */
export function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): ImageDataset {
  const size = opts.size ?? 32, channels = opts.channels ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new ConfigError('size', `image folder: size must be a positive integer, got ${size}.`);
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', `image folder: channels must be 1 (grey) or 3 (RGB), got ${channels}.`);
  const top = listFolder(dir);
  if (top.folders.length && top.files.length) {
    throw new FormatError(dir, `image folder: ${dir} holds both files (${top.files[0]}) and subfolders (${top.folders[0]}); use one layout: the PNG or JPEG images directly in it, or one subfolder of them per class.`);
  }
  const classNames = top.folders.length ? top.folders : null;
  if (classNames && classNames.length > 255) throw new FormatError(dir, `image folder: ${dir} has ${classNames.length} class subfolders; onestep takes at most 255 classes.`);
  const files: string[] = [], fileLabels: number[] = [];
  if (classNames) {
    classNames.forEach((name, label) => {
      const classDir = join(dir, name);
      const inner = listFolder(classDir);
      if (inner.folders.length) {
        throw new FormatError(join(classDir, inner.folders[0]!), `image folder: ${join(classDir, inner.folders[0]!)} is a folder inside the class folder ${classDir}; put the class's PNG or JPEG images directly in it.`);
      }
      const paths = imageFiles(classDir, inner.files);
      if (!paths.length) throw new FormatError(classDir, `image folder: the class folder ${classDir} holds no .png, .jpg or .jpeg files; add its images or remove it.`);
      files.push(...paths);
      fileLabels.push(...paths.map(() => label));
    });
  } else {
    files.push(...imageFiles(dir, top.files));
  }
  if (files.length === 0) throw new FormatError(dir, `image folder: ${dir} holds no .png, .jpg or .jpeg files; put the training images there as PNG or JPEG (or one subfolder of them per class).`);
  const per = channels * size * size;
  const images = new Float32Array(files.length * per);
  files.forEach((path, n) => {
    const { width: w, height: h, data } = decodeImage(readBytes(path, 'image folder'), path);
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
  return {
    name: `folder:${dir}`, images, labels: classNames ? Uint8Array.from(fileLabels) : null, count: files.length, channels, height: size, width: size,
    ...(classNames ? { classNames } : {}),
  };
}
