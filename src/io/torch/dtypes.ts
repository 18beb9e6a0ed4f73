// The element types a torch checkpoint can hold and how onestep names them (as safetensors does).

export type TorchDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A tensor's values, little-endian as stored: F16 and BF16 as their raw 16-bit patterns, BOOL as 0/1 bytes. */
export type TorchData = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

interface DTypeInfo {
  bytes: number;
  /** A view of `length` elements of `buffer` at `byteOffset` (which must be a multiple of `bytes`). */
  view(buffer: ArrayBufferLike, byteOffset: number, length: number): TorchData;
}

export const DTYPES: Record<TorchDType, DTypeInfo> = {
  F64: { bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  F32: { bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  F16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  BF16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  I64: { bytes: 8, view: (b, o, n) => new BigInt64Array(b, o, n) },
  I32: { bytes: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  I16: { bytes: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  I8: { bytes: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  U8: { bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  BOOL: { bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
};

/** The storage classes torch pickles by name (`torch.FloatStorage`), and the element type of each. */
export const STORAGE_TYPES: Readonly<Record<string, TorchDType>> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  // torch >= 2 pickles a bare untyped storage (not a tensor's) under this name: bytes
  UntypedStorage: 'U8',
};

/** The dtype objects torch pickles by name (`torch.float16`), as the element types they stand for. */
export const DTYPE_NAMES: Readonly<Record<string, TorchDType>> = {
  float64: 'F64', double: 'F64',
  float32: 'F32', float: 'F32',
  float16: 'F16', half: 'F16',
  bfloat16: 'BF16',
  int64: 'I64', long: 'I64',
  int32: 'I32', int: 'I32',
  int16: 'I16', short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Whether typed arrays on this machine are little-endian, as checkpoints are (every current JavaScript engine's host is). */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
