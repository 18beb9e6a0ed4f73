import { expect } from 'vitest';
import { getRuntime } from '../../kernels/cpu/wasm/runtime';
import { Generator } from '../../src/index';

// What the wasm parity tests (test/parity/*.test.ts) share. The reference sums in float64, the
// fast path in float32 (K-blocked), so each output may differ by a small multiple of float32
// epsilon times the sum of |terms| it adds up: compare against the same kernel run on |inputs|.

export const random = (n: number, seed: number): Float32Array => {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.uniform() * 2 - 1);
};
export const abs = (x: Float32Array): Float32Array => x.map(Math.abs);

/**
 * x where a kernel finds it: an ordinary array (copied into the wasm heap and back around the call),
 * or resident in the heap as the cpu backend's tensors are (used in place). Each property draws both.
 */
export const place = (x: Float32Array, resident: boolean): Float32Array => {
  if (!resident) return x;
  const r = getRuntime().heap.tensor(x.length);
  if (!r) throw new Error('the wasm heap holds no tensors here (its memory is not shared)');
  r.set(x);
  return r;
};

export type TwoInputKernel = (a: Float32Array, b: Float32Array, out: Float32Array) => void;

/**
 * A fast two-input kernel (inputs placed resident or copied, its output NaN-filled first) against
 * the reference run on the inputs and, for the tolerance, on their magnitudes; returns the fast output.
 */
export function expectKernelClose(size: number, a: Float32Array, b: Float32Array, resident: boolean, fast: TwoInputKernel, reference: TwoInputKernel): Float32Array {
  const [ref, mag] = [0, 1].map(() => new Float32Array(size)) as [Float32Array, Float32Array];
  const out = place(new Float32Array(size).fill(Number.NaN), resident);
  fast(place(a, resident), place(b, resident), out);
  reference(a, b, ref);
  reference(abs(a), abs(b), mag);
  expectClose(out, ref, mag);
  return out;
}

export function expectClose(actual: Float32Array, expected: Float32Array, magnitude: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    if (!(err <= 1e-5 * magnitude[i]! + 1e-7)) {
      throw new Error(`element ${i}: fast ${actual[i]}, reference ${expected[i]}, |diff| ${err}, sum of |terms| ${magnitude[i]}`);
    }
  }
}
