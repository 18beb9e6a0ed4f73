import type { Shape, StridedView, TypedArray } from '../../src/backend/backend';
import { forEachRow } from './strided';

export function copy(src: StridedView<TypedArray>, shape: Shape, dst: StridedView<TypedArray>): void {
  const s = src.buffer, d = dst.buffer;
  forEachRow(shape, [src.strides, dst.strides], [src.offset, dst.offset], (offs, n, inner) => {
    let si = offs[0]!, di = offs[1]!;
    const ss = inner[0]!, ds = inner[1]!;
    // contiguous rows of the same element type (concatenation, slices): a memcpy
    if (ss === 1 && ds === 1 && s.constructor === d.constructor) d.set(s.subarray(si, si + n), di);
    else for (let j = 0; j < n; j++, si += ss, di += ds) d[di] = s[si]!;
  });
}

/** The Backend's concat of two contiguous tensors along one axis, row by row. */
export function concat(a: TypedArray, b: TypedArray, out: TypedArray, outer: number, sizeA: number, sizeB: number, inner: number): void {
  const rowA = sizeA * inner, rowB = sizeB * inner;
  for (let o = 0; o < outer; o++) {
    out.set(a.subarray(o * rowA, (o + 1) * rowA), o * (rowA + rowB));
    out.set(b.subarray(o * rowB, (o + 1) * rowB), o * (rowA + rowB) + rowA);
  }
}
