// safetensors: 8-byte little-endian header length N, N bytes of JSON header (space padded), then
// the data. Header: { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: {k: "v"} },
// offsets relative to the start of the data. See the format's specification by Hugging Face.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { TypedArray } from '../backend/backend';
import { RawTensor } from '../tensor/raw';
import { formatShape, shapeSize } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

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
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
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

/** Parses and validates the bytes of a .safetensors file; F16/BF16 tensors are widened to F32. */
export function decodeSafetensors(bytes: Uint8Array, source = 'buffer'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new Error(`safetensors: ${source} is not a valid safetensors file: ${why}.`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(dv.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    fail(`the header claims ${headerLength} bytes but only ${bytes.length - 8} follow (file truncated?)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch (e) {
    return fail(`its JSON header does not parse (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('its header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorRecord>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(e.dtype);
    if (!(dtype in BYTES)) fail(`tensor '${name}' has dtype ${dtype}; onestep reads F32, F64, F16 and BF16`);
    const shape = e.shape as number[];
    const offsets = e.data_offsets as number[];
    if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) fail(`tensor '${name}' has a malformed shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has malformed data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const n = shapeSize(shape);
    if (end - begin !== n * BYTES[dtype]!) fail(`tensor '${name}' spans ${end - begin} bytes but shape ${formatShape(shape)} of ${dtype} needs ${n * BYTES[dtype]!}`);
    if (end > dataLength) fail(`tensor '${name}' ends at data byte ${end} but the file has only ${dataLength} data bytes (file truncated?)`);
    spans.push([begin, end, name]);
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    let data: TypedArray;
    if (dtype === 'F64') {
      data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat64(8 * i, true);
    } else {
      data = new Float32Array(n);
      if (dtype === 'F32') for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
      else if (dtype === 'F16') for (let i = 0; i < n; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
      else {
        const bits = new Uint32Array(1), value = new Float32Array(bits.buffer);
        for (let i = 0; i < n; i++) {
          bits[0] = view.getUint16(2 * i, true) << 16;
          data[i] = value[0]!;
        }
      }
    }
    tensors.set(name, { dtype: dtype === 'F64' ? 'F64' : 'F32', shape, data });
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered) fail(`tensor '${name}' starts at data byte ${begin}, expected ${covered} (overlapping or gapped offsets)`);
    covered = end;
  }
  if (covered !== dataLength) fail(`the data section has ${dataLength} bytes but the tensors cover ${covered}`);
  return { tensors, metadata };
}

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
    throw new Error(`safetensors: could not write ${path}: ${(e as Error).message}`);
  }
}

/** Reads a .safetensors file into tensors (float32 or float64) and its metadata. */
export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`safetensors: cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}.`);
  }
  const file = decodeSafetensors(bytes, basename(path));
  const tensors: Record<string, Tensor> = {};
  for (const [name, r] of file.tensors) {
    tensors[name] = new Tensor(RawTensor.fromArray(r.data, r.shape, r.dtype === 'F64' ? 'float64' : 'float32'));
  }
  return { tensors, metadata: file.metadata };
}
