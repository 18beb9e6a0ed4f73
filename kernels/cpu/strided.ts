import type { Shape } from '../../src/backend/backend';

/**
 * Walks the rows (innermost dimension) of `shape` for several strided views at once, calling
 * `visit(offsets, rowLength)` with each view's offset at the start of the row; inside the row the
 * caller steps by `innerStrides[v]`. Dimensions that are contiguous in every view are merged first,
 * so a contiguous elementwise op is a single row. A callback per row, never per element.
 */
export function forEachRow(
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  visit: (offsets: number[], rowLength: number, innerStrides: number[]) => void,
): void {
  if (shape.some((s) => s === 0)) return;
  const [dims, viewStrides] = mergeDims(shape, strides);
  const nd = dims.length;
  const views = strides.length;
  const offs = offsets.slice();
  const inner = viewStrides.map((s) => s[nd - 1]!);
  const rowLength = dims[nd - 1]!;
  const index = new Array<number>(nd).fill(0);
  for (;;) {
    visit(offs, rowLength, inner);
    let d = nd - 2;
    for (; d >= 0; d--) {
      index[d]!++;
      for (let v = 0; v < views; v++) offs[v]! += viewStrides[v]![d]!;
      if (index[d]! < dims[d]!) break;
      for (let v = 0; v < views; v++) offs[v]! -= viewStrides[v]![d]! * dims[d]!;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

/** Drops size-1 dimensions and merges neighbours that are contiguous in every view. */
function mergeDims(shape: Shape, strides: readonly (readonly number[])[]): [number[], number[][]] {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, v) => out[v]![last] === s[d]! * size)) {
      dims[last]! *= size;
      strides.forEach((s, v) => (out[v]![last] = s[d]!));
      continue;
    }
    dims.push(size);
    strides.forEach((s, v) => out[v]!.push(s[d]!));
  }
  if (dims.length === 0) {
    dims.push(1);
    out.forEach((s) => s.push(0));
  }
  return [dims, out];
}
