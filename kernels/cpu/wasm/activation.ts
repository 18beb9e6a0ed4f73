import { ceilTo, split } from './gemm';
import { getRuntime } from './runtime';

/** Vector ranges [begin, end) in bytes per thread over n floats padded to whole f32x4 lanes. */
function laneRanges(n: number, threads: number): [number, number][] {
  return split(ceilTo(n, 4) / 4, threads).map(([a, b]) => [a * 16, b * 16]);
}

export function siluF32(x: Float32Array, out: Float32Array): void {
  const rt = getRuntime();
  const n = x.length, np = ceilTo(n, 4);
  const mem = rt.reserve(2 * np * 4);
  mem.set(x, 0);
  rt.parallel('silu', laneRanges(n, rt.threads).map(([begin, end]) => ({ src: 0, dst: np * 4, begin, end })));
  out.set(mem.subarray(np, np + n));
}

export function siluGradF32(x: Float32Array, grad: Float32Array, out: Float32Array): void {
  const rt = getRuntime();
  const n = x.length, np = ceilTo(n, 4);
  const mem = rt.reserve(3 * np * 4);
  mem.set(x, 0);
  mem.set(grad, np);
  rt.parallel('siluGrad', laneRanges(n, rt.threads).map(([begin, end]) => ({ src: 0, grad: np * 4, dst: 2 * np * 4, begin, end })));
  out.set(mem.subarray(2 * np, 2 * np + n));
}
