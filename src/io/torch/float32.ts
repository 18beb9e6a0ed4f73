// A checkpoint tensor's values as float32: exact for F16 and BF16 (every half and bfloat16 value,
// subnormals, infinities and NaN included, is a float32), rounded for F64 and for integers that
// float32 cannot hold exactly.
import type { TorchTensor } from './tensor';

let halfTable: Uint32Array | null = null;

/** The float32 bit pattern of each of the 65536 half-precision bit patterns. */
function halfToFloatBits(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    let fraction = h & 0x3ff;
    if (exponent === 0x1f) {
      table[h] = sign | 0x7f800000 | (fraction << 13); // infinity, or NaN with its payload
    } else if (exponent !== 0) {
      table[h] = sign | ((exponent + 127 - 15) << 23) | (fraction << 13);
    } else if (fraction === 0) {
      table[h] = sign; // signed zero
    } else {
      // subnormal half (fraction * 2^-24): normal in float32; shift the leading one to bit 10
      let e = 127 - 15 + 1;
      while (!(fraction & 0x400)) {
        fraction <<= 1;
        e--;
      }
      table[h] = sign | (e << 23) | ((fraction & 0x3ff) << 13);
    }
  }
  halfTable = table;
  return table;
}

/** Half-precision bit patterns as float32 values. */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  const table = halfToFloatBits();
  for (let i = 0; i < bits.length; i++) outBits[i] = table[bits[i]!]!;
  return out;
}

/** bfloat16 bit patterns as float32 values: bfloat16 is the top half of a float32. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/**
 * A tensor's values as float32, row-major. For an F32 tensor this is `t.data` itself (a view of the
 * checkpoint's bytes, not a copy: copy it before writing to it); every other dtype gives a new array.
 */
export function torchTensorToFloat32(t: TorchTensor): Float32Array {
  const data = t.data;
  switch (t.dtype) {
    case 'F32': return data as Float32Array;
    case 'F16': return halfToFloat32(data as Uint16Array);
    case 'BF16': return bfloat16ToFloat32(data as Uint16Array);
    case 'I64': return Float32Array.from(data as BigInt64Array, (v) => Number(v));
    default: return Float32Array.from(data as Exclude<typeof data, BigInt64Array>);
  }
}
