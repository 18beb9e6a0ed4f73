import type { Shape } from '../../../src/backend/backend';
import { split } from './ranges';
import { getRuntime } from './runtime';

/** Rows shorter than this are summed as fast by the JavaScript loop. */
const MIN_RUN = 16;

/**
 * The sum over `axes` of x [shape] as [outer, mid, inner] summed over outer and inner, when the
 * kept dimensions are one contiguous block (a bias gradient: [n, c, h, w] over 0, 2, 3 is
 * [n, c, h w]) and the rows are long enough; null otherwise.
 */
export function keptBlock(shape: Shape, axes: readonly number[]): { outer: number; mid: number; inner: number } | null {
  const kept = shape.map((n, d) => n > 1 && !axes.includes(d));
  const first = kept.indexOf(true), last = kept.lastIndexOf(true);
  const product = (from: number, to: number) => shape.slice(from, to).reduce((x, y) => x * y, 1);
  if (first < 0) return product(0, shape.length) >= MIN_RUN ? { outer: 1, mid: 1, inner: product(0, shape.length) } : null;
  if (shape.some((n, d) => d > first && d < last && n > 1 && !kept[d])) return null;
  const inner = product(last + 1, shape.length);
  return inner >= MIN_RUN ? { outer: product(0, first), mid: product(first, last + 1), inner } : null;
}

/** out[m] = sum over o and i of x[o, m, i] (float64 sums of float32 row sums: reduce-module.ts), rows split across threads. */
export function sumKeptBlockF32(x: Float32Array, { outer, mid, inner }: { outer: number; mid: number; inner: number }, out: Float32Array): void {
  const rt = getRuntime();
  const rows = outer * mid;
  rt.frame((f) => {
    const xAt = f.input(x, 0, rows * inner), sumsAt = f.scratch(2 * rows);
    rt.parallel('rowSums', split(rows, rt.threads).map(([row0, row1]) => ({ x: xAt * 4, sums: sumsAt * 4, run: inner, row0, row1 })));
    const sums = new Float64Array(f.mem.buffer, sumsAt * 4, rows);
    for (let m = 0; m < mid; m++) {
      let total = 0;
      for (let o = 0; o < outer; o++) total += sums[o * mid + m]!;
      out[m] = total;
    }
  });
}
