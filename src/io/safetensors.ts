// safetensors: 8-byte little-endian header length N, N bytes of JSON header (space padded), then
// the data. Header: { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: {k: "v"} },
// offsets relative to the start of the data. See the format's specification by Hugging Face.
// This file works on bytes (in Node and browsers); safetensors-file.ts reads and writes files.
import type { TypedArray } from '../backend/backend';
import { RawTensor } from '../tensor/raw';
import { formatShape, shapeSize } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { FormatError } from '../errors';

export interface TensorRecord {
  dtype: 'F32' | 'F64';
  shape: number[];
  data: TypedArray;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorRecord>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

function toRecord(t: Tensor | TensorRecord): TensorRecord {
  if (t instanceof Tensor) return { dtype: t.dtype === 'float64' ? 'F64' : 'F32', shape: [...t.shape], data: t.toArray() };
  return t;
}

/** Serialises tensors (in name order) and string metadata into the bytes of a .safetensors file. */
export function encodeSafetensors(
  tensors: Record<string, Tensor | TensorRecord>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata value for '${k}' must be a string (the format stores strings only); use String(value) or JSON.stringify.`);
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const names = Object.keys(tensors).sort();
  const records = names.map((name) => {
    if (name === '__metadata__') throw new Error("safetensors: '__metadata__' is reserved and cannot name a tensor.");
    return toRecord(tensors[name]!);
  });
  let offset = 0;
  names.forEach((name, i) => {
    const r = records[i]!;
    const bytes = r.data.length * BYTES[r.dtype]!;
    if (r.data.length !== shapeSize(r.shape)) throw new Error(`safetensors: tensor '${name}' has ${r.data.length} values for shape ${formatShape(r.shape)}.`);
    header[name] = { dtype: r.dtype, shape: r.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  });
  const json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const headerBytes = new TextEncoder().encode(json + ' '.repeat((8 - ((8 + jsonBytes.length) % 8)) % 8));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const r of records) {
    const view = new DataView(out.buffer, pos, r.data.length * BYTES[r.dtype]!);
    if (r.dtype === 'F32') r.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
    else r.data.forEach((v, i) => view.setFloat64(8 * i, v, true));
    pos += view.byteLength;
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Names a JSON header may not use: they would reach Object.prototype in a plain record. */
const RESERVED_KEYS = new Set(['__proto__']);

/** A shape for a message: at most 8 dimensions, then how many more (a corrupt header can hold thousands). */
function describeShape(shape: readonly unknown[]): string {
  if (shape.length <= 8) return `[${shape.join(', ')}]`;
  return `[${shape.slice(0, 8).join(', ')}, ... ${shape.length - 8} more]`;
}

/**
 * Parses and validates the bytes of a .safetensors file; F16/BF16 tensors are widened to F32.
 * Every size the header claims is checked against the bytes present before anything is allocated,
 * so a corrupt or hostile file costs at most a copy of its own data. Throws FormatError (naming
 * `source`) for anything malformed, never another exception.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'buffer'): SafetensorsFile {
  const fail = invalidSafetensors(source);
  try {
    return decodeChecked(bytes, fail);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    return fail(`reading it failed (${e instanceof Error ? e.message : String(e)}); re-save or re-download it`);
  }
}

/** The thrower of `source`'s FormatErrors: what is wrong with it. */
export const invalidSafetensors = (source: string) => (why: string): never => {
  throw new FormatError(source, `safetensors: ${source} is not a valid safetensors file: ${why}.`);
};

/** The JSON header's length from the file's first 8 bytes, checked against the `available` bytes after them. */
export function headerLength(prefix: Uint8Array, available: number, fail: (why: string) => never): number {
  const claimed = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (claimed > BigInt(available)) fail(`the header claims ${claimed} bytes but only ${available} follow (file truncated?)`);
  return Number(claimed);
}

/** The JSON header, which must be an object. */
export function parseHeader(json: Uint8Array, fail: (why: string) => never): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    return fail(`its JSON header does not parse (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('its header is not a JSON object');
  return header as Record<string, unknown>;
}

/** The header's __metadata__ entry: null, or an object of strings. */
export function checkedMetadata(entry: unknown, fail: (why: string) => never): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (entry === null || entry === undefined) return metadata;
  if (typeof entry !== 'object' || Array.isArray(entry)) fail('its __metadata__ is not an object of strings');
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (RESERVED_KEYS.has(k)) fail(`its metadata has a key '${k}', a name onestep refuses`);
    if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
    metadata[k] = v as string;
  }
  return metadata;
}

function decodeChecked(bytes: Uint8Array, fail: (why: string) => never): SafetensorsFile {
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const length = headerLength(bytes, bytes.length - 8, fail);
  const header = parseHeader(bytes.subarray(8, 8 + length), fail);
  const dataStart = 8 + length;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (RESERVED_KEYS.has(name)) fail(`it names a tensor '${name}', a name onestep refuses`);
    if (name === '__metadata__') {
      Object.assign(metadata, checkedMetadata(entry, fail));
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`tensor '${name}' is not an object with dtype, shape and data_offsets`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      fail(`tensor '${name}' has dtype ${typeof dtype === 'string' ? dtype : JSON.stringify(dtype)}; onestep reads F32, F64, F16 and BF16`);
    }
    const width = BYTES[dtype as string]!;
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) fail(`tensor '${name}' has a malformed shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has malformed data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) fail(`tensor '${name}' ends at data byte ${end} but the file has only ${dataLength} data bytes (file truncated?)`);
    if (begin > end) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] that run backwards`);
    // The element count, stopping as soon as it needs more bytes than the span holds (a product of
    // safe integers can overflow; a span is at most the data length).
    const span = end - begin;
    const dims = shape as number[];
    let n = dims.includes(0) ? 0 : 1;
    for (const s of dims) {
      if (n === 0) break;
      n *= s;
      if (n * width > span) break;
    }
    if (n * width !== span) {
      // exact in the message when the shape is short enough to multiply out cheaply
      const needs = dims.length <= 16 ? `${dims.reduce((a, s) => a * BigInt(s), BigInt(width))}` : `more than ${span}`;
      fail(`tensor '${name}' spans ${span} bytes but shape ${describeShape(dims)} of ${dtype} needs ${needs}`);
    }
    entries.push({ name, dtype: dtype as string, shape: dims, begin, end });
  }
  const spans = [...entries].sort((a, b) => a.begin - b.begin);
  let covered = 0;
  for (const { begin, end, name } of spans) {
    if (begin !== covered) fail(`tensor '${name}' starts at data byte ${begin}, expected ${covered} (overlapping or gapped offsets)`);
    covered = end;
  }
  if (covered !== dataLength) fail(`the data section has ${dataLength} bytes but the tensors cover ${covered}`);
  // Only now, with every span inside the data and none overlapping, are the values copied out.
  const tensors = new Map<string, TensorRecord>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const data = readValues(new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin), dtype);
    tensors.set(name, { dtype: dtype === 'F64' ? 'F64' : 'F32', shape, data });
  }
  return { tensors, metadata };
}

function readValues(view: DataView, dtype: string): TypedArray {
  const n = view.byteLength / BYTES[dtype]!;
  if (dtype === 'F64') {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat64(8 * i, true);
    return data;
  }
  const data = new Float32Array(n);
  if (dtype === 'F32') for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < n; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
  else {
    const bits = new Uint32Array(1), value = new Float32Array(bits.buffer);
    for (let i = 0; i < n; i++) {
      bits[0] = view.getUint16(2 * i, true) << 16;
      data[i] = value[0]!;
    }
  }
  return data;
}

/** A decoded file's tensors as float32 or float64 Tensors on the current backend. */
export function fileTensors(file: SafetensorsFile): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, r] of file.tensors) {
    tensors[name] = new Tensor(RawTensor.fromArray(r.data, r.shape, r.dtype === 'F64' ? 'float64' : 'float32'));
  }
  return tensors;
}
