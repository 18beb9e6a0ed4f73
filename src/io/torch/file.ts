// PyTorch checkpoints on disk (Node). The format itself is in checkpoint.ts.
import { basename } from 'node:path';
import { readBytes } from '../read-file';
import { readTorchStateDict, type TorchStateDictOptions } from './checkpoint';
import type { TorchTensor } from './tensor';

/**
 * The state dict of the checkpoint at `path` (see `readTorchStateDict`). Throws FileAccessError for
 * a path that cannot be read and FormatError (naming the file) for anything it cannot read.
 */
export function loadTorchStateDict(path: string, options: TorchStateDictOptions = {}): Map<string, TorchTensor> {
  return readTorchStateDict(readBytes(path, 'torch'), basename(path), options);
}
