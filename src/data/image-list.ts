import { ConfigError, FormatError } from '../errors';
import type { ImageDataset } from './dataset';
import { rgbaInto } from './pixels';

// A folder of images given as a list of files (a browser's folder picker or drop: each file's path
// relative to the folder's parent, 'digits/7/a.png'), with the layouts and rules of
// loadImageFolder (image-folder.ts): the images directly in the folder, or one subfolder per class.

/** Where each image of a folder's file list goes: its file and label (null without classes). */
export interface FolderLayout {
  /** The folder's name (the first part of every path). */
  root: string;
  files: { path: string; label: number | null }[];
  /** With one subfolder per class: their names in name order (label k = classNames[k]). */
  classNames: string[] | null;
}

const isImageName = (name: string) => /\.(png|jpe?g)$/i.test(name);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const hidden = (part: string) => part.startsWith('.');

/**
 * The layout of a folder from the paths of its files ('/'-separated, each starting with the
 * folder's name): folderLayoutOf with the folder's name as root. Hidden files and folders
 * (.DS_Store and the like) are skipped, though a hidden file still shows its folder (a class
 * folder holding only hidden files has no images).
 */
export function folderLayout(paths: readonly string[]): FolderLayout {
  // the paths whose folders are all visible (their last part: a file, perhaps hidden)
  const shown = paths.map((p) => p.split('/')).filter((p) => !p.slice(0, -1).some(hidden));
  const named = shown.find((p) => !hidden(p.at(-1)!));
  if (!named) throw new FormatError('folder', 'image folder: the folder holds no files; choose a folder of PNG or JPEG images (or of one subfolder of them per class).');
  const root = named[0]!;
  const other = shown.find((p) => p[0] !== root || p.length < 2);
  if (other) throw new FormatError(other.join('/'), `image folder: ${other.join('/')} is not inside the folder ${root}; give the files of one folder.`);
  return folderLayoutOf(root, shown.map((p) => p.slice(1)), (parts) => [root, ...parts].join('/'));
}

/**
 * The layout of the folder `root` from its entries, each as its parts below the folder: a file
 * (['a.png'], ['cat', 'a.png']; hidden files allowed, they are skipped) or a folder (a last part
 * of '': ['eel', '']); hidden folders and what is in them left out by the caller. `pathOf` makes
 * an entry's path for messages and FolderLayout.files. The rules of loadImageFolder and the
 * browser's folder alike: a file that is not a .png, .jpg or .jpeg, a folder mixing both layouts,
 * a folder inside a class folder, a class folder without images or no image at all is a
 * FormatError naming the file and the fix.
 */
export function folderLayoutOf(root: string, entries: readonly (readonly string[])[], pathOf: (parts: readonly string[]) => string): FolderLayout {
  const files = entries.filter((e) => e.at(-1) !== '' && !hidden(e.at(-1)!));
  const flat = files.filter((e) => e.length === 1).map((e) => e[0]!).sort(byName);
  const folders = [...new Set(entries.filter((e) => e.length >= 2).map((e) => e[0]!))].sort(byName);
  if (flat.length && folders.length) {
    throw new FormatError(root, `image folder: ${root} holds both files (${flat[0]}) and subfolders (${folders[0]}); use one layout: the PNG or JPEG images directly in it, or one subfolder of them per class.`);
  }
  if (!flat.length && !folders.length) throw new FormatError(root, `image folder: ${root} holds no .png, .jpg or .jpeg files; put the training images there as PNG or JPEG (or one subfolder of them per class).`);
  if (folders.length > 255) throw new FormatError(root, `image folder: ${root} has ${folders.length} class subfolders; onestep takes at most 255 classes.`);
  const deep = entries.find((e) => e.length >= 3);
  if (deep) {
    throw new FormatError(pathOf(deep.slice(0, 2)), `image folder: ${pathOf(deep.slice(0, 2))} is a folder inside the class folder ${pathOf(deep.slice(0, 1))}; put the class's PNG or JPEG images directly in it.`);
  }
  const notImage = [...files].sort((a, b) => byName(a.join('/'), b.join('/'))).find((e) => !isImageName(e.at(-1)!));
  if (notImage) throw new FormatError(pathOf(notImage), `image folder: ${pathOf(notImage)} is not a .png, .jpg or .jpeg file; onestep reads PNG and JPEG images: remove it or convert it.`);
  if (flat.length) return { root, files: flat.map((name) => ({ path: pathOf([name]), label: null })), classNames: null };
  // class by class, each class's images in name order
  const layoutFiles = folders.flatMap((name, label) => {
    const own = files.filter((e) => e[0] === name).map((e) => e[1]!).sort(byName);
    if (!own.length) throw new FormatError(pathOf([name]), `image folder: the class folder ${pathOf([name])} holds no .png, .jpg or .jpeg files; add its images or remove it.`);
    return own.map((file) => ({ path: pathOf([name, file]), label }));
  });
  return { root, files: layoutFiles, classNames: folders };
}

export interface ImageListOptions {
  /** Side of the square images produced (default 32). */
  size?: number;
  /** 1 (grey) or 3 (RGB). Default 1. */
  channels?: 1 | 3;
}

/**
 * The dataset of a folder layout whose images are decoded (`images[k]`: RGBA pixels of
 * layout.files[k], in any size), resized to size x size by area averaging, in [-1, 1]: the same
 * numbers loadImageFolder gives for the same pixels. Its name is `folder:ROOT`.
 */
export function imageListDataset(layout: FolderLayout, images: readonly { width: number; height: number; data: ArrayLike<number> }[], opts: ImageListOptions = {}): ImageDataset {
  const size = opts.size ?? 32, channels = opts.channels ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new ConfigError('size', `image folder: size must be a positive integer, got ${size}.`);
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', `image folder: channels must be 1 (grey) or 3 (RGB), got ${channels}.`);
  if (images.length !== layout.files.length) throw new Error(`imageListDataset: ${images.length} images for ${layout.files.length} files.`);
  const per = channels * size * size;
  const out = new Float32Array(images.length * per);
  images.forEach((image, n) => {
    if (image.data.length !== image.width * image.height * 4) throw new FormatError(layout.files[n]!.path, `image folder: ${layout.files[n]!.path} decoded to ${image.data.length} bytes for ${image.width}x${image.height} RGBA pixels.`);
    rgbaInto(image, channels, size, out, n * per);
  });
  return {
    name: `folder:${layout.root}`, images: out, count: images.length, channels, height: size, width: size,
    labels: layout.classNames ? Uint8Array.from(layout.files, (f) => f.label!) : null,
    ...(layout.classNames ? { classNames: layout.classNames } : {}),
  };
}
