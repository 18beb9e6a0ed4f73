import { basename } from 'node:path';
import { readBytes } from '../io/read-file';
import { decodeIdx, type IdxArray } from './idx';

/** Reads an IDX file of unsigned bytes; FileAccessError if it cannot be read, FormatError if malformed. */
export function readIdx(path: string): IdxArray {
  return decodeIdx(readBytes(path, 'IDX'), basename(path));
}
