// IDX: the MNIST file format. Big-endian: two zero bytes, a type code (0x08 = unsigned byte), the
// number of dimensions, one 32-bit size per dimension, then the data, row-major.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export function decodeIdx(bytes: Uint8Array, source = 'buffer'): IdxArray {
  const fail = (why: string): never => {
    throw new Error(`IDX: ${source} is not a valid IDX file: ${why}.`);
  };
  if (bytes.length < 4) fail(`it has only ${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail('its first two bytes are not zero (wrong file, or gzip-compressed?)');
  if (bytes[2] !== 0x08) fail(`its type code is 0x${bytes[2]!.toString(16)}; onestep reads unsigned bytes (0x08)`);
  const ndim = bytes[3]!;
  if (ndim < 1 || ndim > 4) fail(`it declares ${ndim} dimensions`);
  if (bytes.length < 4 + 4 * ndim) fail('it ends inside its header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (bytes.length - start !== count) {
    fail(`its header promises ${count} values (shape [${shape.join(', ')}]) but ${bytes.length - start} bytes follow (file truncated or corrupt?)`);
  }
  return { shape, data: bytes.subarray(start) };
}

export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`IDX: cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}.`);
  }
  return decodeIdx(bytes, basename(path));
}
