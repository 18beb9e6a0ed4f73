// safetensors files on disk (Node): written atomically, read whole or header only. The format
// itself is in safetensors.ts.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { FileAccessError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { accessProblem, readBytes } from './read-file';
import { checkedMetadata, decodeSafetensors, encodeSafetensors, fileTensors, headerLength, invalidSafetensors, parseHeader, type TensorRecord } from './safetensors';

/**
 * Writes tensors and metadata atomically: into a temporary file beside `path`, flushed to disk,
 * then renamed over `path`, so a crash never leaves a half-written file.
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor | TensorRecord>,
  metadata: Record<string, string> = {},
): void {
  const bytes = encodeSafetensors(tensors, metadata);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file may never have been created
    }
    throw new FileAccessError(path, `safetensors: could not write ${path}: ${(e as Error).message}; check that its folder exists and is writable.`);
  }
}

/**
 * The metadata of a .safetensors file, read from its header alone (the tensors are not read). Throws
 * FileAccessError for a path that cannot be read and FormatError for a header that does not parse.
 */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  const fail = invalidSafetensors(basename(path));
  let fd: number | null = null;
  try {
    try {
      fd = openSync(path, 'r');
      if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    } catch (e) {
      throw new FileAccessError(path, `safetensors: cannot read ${path}: ${accessProblem(e)}.`);
    }
    const size = fstatSync(fd).size;
    if (size < 8) fail(`it has ${size} bytes, fewer than the 8-byte header length`);
    const prefix = new Uint8Array(8);
    readSync(fd, prefix, 0, 8, 0);
    const json = new Uint8Array(headerLength(prefix, size - 8, fail));
    readSync(fd, json, 0, json.length, 8);
    return checkedMetadata(parseHeader(json, fail).__metadata__, fail);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Reads a .safetensors file into tensors (float32 or float64) and its metadata. */
export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const file = decodeSafetensors(readBytes(path, 'safetensors'), basename(path));
  return { tensors: fileTensors(file), metadata: file.metadata };
}
