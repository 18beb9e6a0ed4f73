import { cpuReferenceBackend } from '../../../kernels/cpu/index';
import type { GpujsBackend, GpujsBuffer } from '../../../kernels/gpujs/backend';
import type { Backend, Shape, StridedView } from '../../../src/backend/backend';
import { Generator } from '../../../src/index';

// What the gpu.js parity cases of every kernel family (test/parity/gpujs/*.ts, listed in order by
// test/parity/gpujs-cases.ts) share: the comparison with kernels/cpu's reference, random inputs,
// and the moves between the backend under test and the host. Plain functions that throw, so that
// vitest (gpujs.test.ts) and the GPU machine's runner (bench/device.ts) share the cases.
//
// Tolerances: kernels that add up K terms in float32 may differ from the reference (which sums
// some reductions in float64) by a few float32 epsilons times the sum of |terms|; that sum is
// computed by running the reference on |inputs|. Elementwise ops are compared relative to |value|
// with WGSL's documented accuracy in mind (exp, log, sin: a few ulp; division 2.5 ulp).

export type Ref = Float32Array;
export const ref = cpuReferenceBackend;

export interface ParityCase {
  name: string;
  /** Throws, naming the kernel and the element, on a mismatch. */
  run: () => void;
}

/** A family's list of cases, and `it`, which adds one to it. */
export function caseList(): { cases: ParityCase[]; it: (name: string, run: () => void) => void } {
  const cases: ParityCase[] = [];
  const it = (name: string, run: () => void): void => void cases.push({ name, run });
  return { cases, it };
}

export function assert(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

export const random = (n: number, seed: number, lo = -1, hi = 1): Float32Array => {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * g.uniform());
};
export const abs = (x: Float32Array): Float32Array => x.map(Math.abs);
export const size = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function expectClose(what: string, actual: Float32Array, expected: Float32Array, tol: (i: number) => number): void {
  assert(actual.length === expected.length, `${what}: ${actual.length} elements, reference ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const err = Math.abs(a - e);
    if (!(err <= tol(i)) && a !== e) {
      throw new Error(`${what}: element ${i} of ${actual.length}: got ${a}, reference ${e}, |diff| ${err} > ${tol(i)}`);
    }
  }
}
export const relative = (expected: Float32Array, rel: number, floor = 0) => (i: number) => rel * Math.abs(expected[i]!) + floor;
export const summed = (magnitude: Float32Array, rel = 4e-6) => (i: number) => rel * magnitude[i]! + 1e-7;

/** The backend under test as a Backend, and the moves between it and the host. */
export function onGpujs(backend: GpujsBackend) {
  const b = backend as unknown as Backend<GpujsBuffer>;
  const up = (x: Float32Array): GpujsBuffer => b.fromArray(x, 'float32');
  const down = (x: GpujsBuffer): Float32Array => b.read(x) as Float32Array;
  const gpuOut = (n: number): GpujsBuffer => b.alloc(n, 'float32');
  const refOut = (n: number): Ref => new Float32Array(n);
  const view = <B>(buffer: B, strides: readonly number[], offset = 0): StridedView<B> => ({ buffer, offset, strides });
  /** A summing kernel here and on the reference; the tolerance comes from the reference run on |inputs|. */
  const checkSummed = (what: string, n: number, here: (out: GpujsBuffer) => void, reference: (out: Ref, onAbs: boolean) => void): void => {
    const out = gpuOut(n), expected = refOut(n), mag = refOut(n);
    here(out);
    reference(expected, false);
    reference(mag, true);
    expectClose(what, down(out), expected, summed(mag));
  };
  const maybeAbs = (x: Float32Array, onAbs: boolean): Float32Array => (onAbs ? abs(x) : x);
  return { b, up, down, gpuOut, refOut, view, checkSummed, maybeAbs };
}
