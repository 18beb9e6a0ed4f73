import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FileAccessError } from '../errors';
import { decodeJpeg } from '../io/jpeg';
import { decodePng } from '../io/png';
import { accessProblem, readBytes } from '../io/read-file';
import type { ImageDataset } from './dataset';
import { folderLayoutOf } from './image-list';
import { rgbaInto } from './pixels';

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
  // the entries of the folder and its subfolders (a folder: a last part of ''), laid out by the browser's rules
  const top = listFolder(dir);
  const entries: string[][] = top.files.map((name) => [name]);
  for (const name of top.folders) {
    const inner = listFolder(join(dir, name));
    entries.push([name, ''], ...inner.folders.map((f) => [name, f, '']), ...inner.files.map((f) => [name, f]));
  }
  const layout = folderLayoutOf(dir, entries, (parts) => join(dir, ...parts));
  const files = layout.files.map((f) => f.path), classNames = layout.classNames;
  const per = channels * size * size;
  const images = new Float32Array(files.length * per);
  files.forEach((path, n) => rgbaInto(decodeImage(readBytes(path, 'image folder'), path), channels, size, images, n * per));
  return {
    name: `folder:${dir}`, images, labels: classNames ? Uint8Array.from(layout.files, (f) => f.label!) : null, count: files.length, channels, height: size, width: size,
    ...(classNames ? { classNames } : {}),
  };
}
