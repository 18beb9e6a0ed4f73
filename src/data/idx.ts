// IDX: the MNIST file format. Big-endian: two zero bytes, a type code (0x08 = unsigned byte), the
// number of dimensions, one 32-bit size per dimension, then the data, row-major.
import { FormatError } from '../errors';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/**
 * The shape and values of an IDX file of unsigned bytes; `data` is a view into `bytes` (nothing is
 * allocated). Throws FormatError (naming `source`) for anything malformed, never another exception.
 */
export function decodeIdx(bytes: Uint8Array, source = 'buffer'): IdxArray {
  const fail = (why: string): never => {
    throw new FormatError(source, `IDX: ${source} is not a valid IDX file: ${why}.`);
  };
  try {
    if (bytes.length < 4) fail(`it has only ${bytes.length} bytes`);
    if (bytes[0] !== 0 || bytes[1] !== 0) fail('its first two bytes are not zero (wrong file, or gzip-compressed?)');
    if (bytes[2] !== 0x08) fail(`its type code is 0x${bytes[2]!.toString(16)}; onestep reads unsigned bytes (0x08)`);
    const ndim = bytes[3]!;
    if (ndim < 1 || ndim > 4) fail(`it declares ${ndim} dimensions`);
    if (bytes.length < 4 + 4 * ndim) fail('it ends inside its header');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const shape = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
    const start = 4 + 4 * ndim;
    const present = bytes.length - start;
    // products of up to four 32-bit sizes exceed 2^53: compare exactly
    const count = shape.reduce((a, b) => a * BigInt(b), 1n);
    if (count !== BigInt(present)) {
      fail(`its header promises ${count} values (shape [${shape.join(', ')}]) but ${present} bytes follow (file truncated or corrupt?)`);
    }
    return { shape, data: bytes.subarray(start) };
  } catch (e) {
    if (e instanceof FormatError) throw e;
    return fail(`reading it failed (${e instanceof Error ? e.message : String(e)})`);
  }
}
