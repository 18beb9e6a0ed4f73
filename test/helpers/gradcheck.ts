import { expect } from 'vitest';
import { Generator, getBackend, noGrad, Tensor, tensor, withBackend } from '../../src/index';

export interface GradInput {
  shape: number[];
  values: number[];
}

export interface GradcheckOptions {
  /** Central-difference step. */
  h?: number;
  rtol?: number;
  atol?: number;
  /** Inputs that take no gradient (e.g. a condition). */
  constant?: boolean[];
  /**
   * Also run f in float32 on the backend under test and on the CPU reference (default true).
   * Off only where f closes over float64 parameters (whole-network checks).
   */
  compareBackends?: boolean;
}

/**
 * The same op, forward and backward, in float32 on the backend under test (ONESTEP_BACKEND, e.g.
 * webgpu) and on the CPU reference: outputs and input gradients must agree to float32 accuracy,
 * |diff| <= 1e-5 (|ref| + max |ref|), the max term covering sums whose terms cancel.
 */
function compareBackends(f: (...xs: Tensor[]) => Tensor, inputs: GradInput[], opts: GradcheckOptions, w: number[]): void {
  const run = (): { name: string; arrays: (Float32Array | null)[] } => {
    const leaves = inputs.map((inp, i) => tensor(inp.values, { shape: inp.shape, dtype: 'float32', requiresGrad: !opts.constant?.[i] }));
    const out = f(...leaves);
    expect(out.dtype).toBe('float32');
    out.backward(tensor(w, { shape: [...out.shape], dtype: 'float32' }));
    return {
      name: getBackend().name,
      arrays: [out.toArray() as Float32Array, ...leaves.map((l, i) => (opts.constant?.[i] ? null : ((l.grad?.toArray() as Float32Array) ?? null)))],
    };
  };
  const here = run();
  const reference = withBackend('cpu-reference', run);
  here.arrays.forEach((actual, k) => {
    const expected = reference.arrays[k];
    const what = k === 0 ? 'output' : `gradient of input ${k - 1}`;
    if (!expected || !actual) {
      expect(actual === null, `${what}: present on one backend only`).toBe(expected === null);
      return;
    }
    expect(actual.length).toBe(expected.length);
    const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let j = 0; j < expected.length; j++) {
      const err = Math.abs(actual[j]! - expected[j]!);
      if (!(err <= 1e-5 * (Math.abs(expected[j]!) + scale) + 1e-7)) {
        throw new Error(`float32 ${what} element ${j}: ${here.name} ${actual[j]}, cpu-reference ${expected[j]}, |diff| ${err}`);
      }
    }
  });
}

/**
 * Compares the tape's gradient of L = sum(w * f(inputs)), w a fixed random weighting, with central
 * differences (L(x + h e) - L(x - h e)) / 2h, element by element, on float64 tensors (CPU backend).
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: GradInput[], opts: GradcheckOptions = {}): void {
  const h = opts.h ?? 1e-5, rtol = opts.rtol ?? 1e-6, atol = opts.atol ?? 1e-8;
  const make = (values: readonly number[], i: number, requiresGrad: boolean) =>
    tensor(values, { shape: inputs[i]!.shape, dtype: 'float64', requiresGrad });
  const leaves = inputs.map((inp, i) => make(inp.values, i, !opts.constant?.[i]));
  const out = f(...leaves);
  expect(out.dtype).toBe('float64');
  const gen = new Generator(1234);
  const w = Array.from({ length: out.size }, () => gen.uniform() * 2 - 1);
  out.backward(tensor(w, { shape: [...out.shape], dtype: 'float64' }));
  if (opts.compareBackends ?? true) compareBackends(f, inputs, opts, w);

  const loss = (vals: number[][]): number =>
    noGrad(() => {
      const y = f(...vals.map((v, i) => make(v, i, false))).toArray();
      let s = 0;
      for (let j = 0; j < y.length; j++) s += y[j]! * w[j]!;
      return s;
    });

  inputs.forEach((inp, i) => {
    if (opts.constant?.[i]) return;
    const analytic = leaves[i]!.grad?.toArray() ?? new Float64Array(inp.values.length);
    expect(analytic.length).toBe(inp.values.length);
    for (let j = 0; j < inp.values.length; j++) {
      const vals = inputs.map((x) => [...x.values]);
      vals[i]![j]! += h;
      const up = loss(vals);
      vals[i]![j]! -= 2 * h;
      const down = loss(vals);
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(analytic[j]! - numeric);
      if (!(err <= rtol * Math.abs(numeric) + atol)) {
        throw new Error(
          `gradient mismatch for input ${i} (shape [${inp.shape}]) element ${j}: tape ${analytic[j]}, central difference ${numeric}, |diff| ${err}`,
        );
      }
    }
  });
}

/**
 * The rows of a gradient table keyed by an op union (a `Record`, so that an op of the engine
 * without a row does not compile), in the order written, with the keys kept as the union.
 */
export const tableRows = <K extends string, V>(table: Readonly<Record<K, V>>): [K, V][] => Object.entries(table) as [K, V][];
