import type { ReduceOp, Shape, TypedArray } from '../../src/backend/backend';
import { contiguousStrides } from '../../src/backend/strides';
import { forEachRow } from './strided';

/** Sums accumulate in float64 whatever the buffer's dtype, then round once into `out`. */
export function reduce(op: ReduceOp, x: TypedArray, inShape: Shape, axes: readonly number[], out: TypedArray): void {
  const outShape = inShape.map((s, d) => (axes.includes(d) ? 1 : s));
  const outStrides = contiguousStrides(outShape).map((s, d) => (axes.includes(d) ? 0 : s));
  const acc = new Float64Array(out.length).fill(op === 'sum' ? 0 : -Infinity);
  forEachRow(inShape, [contiguousStrides(inShape), outStrides], [0, 0], (offs, n, inner) => {
    let xi = offs[0]!, oi = offs[1]!;
    const os = inner[1]!;
    if (op === 'sum') {
      if (os === 0) {
        let s = 0;
        for (let j = 0; j < n; j++) s += x[xi++]!;
        acc[oi]! += s;
      } else {
        for (let j = 0; j < n; j++, oi += os) acc[oi]! += x[xi++]!;
      }
    } else {
      for (let j = 0; j < n; j++, oi += os) {
        const v = x[xi++]!;
        if (v > acc[oi]! || Number.isNaN(v)) acc[oi] = v;
      }
    }
  });
  out.set(acc);
}
