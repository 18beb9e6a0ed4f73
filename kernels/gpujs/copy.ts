import type { Shape, StridedView } from '../../src/backend/backend';
import { contiguousStrides } from '../../src/backend/strides';
import { GRID_RANK, STRIDED_PREAMBLE, stridedGrid, viewArgs, viewAt, viewParams } from './grid';
import { buf, checkGrid, int, kernelText, type KernelThis, type Launch, MAX_GRID_XY, MAX_GRID_Z } from './launch';

/**
 * out = dst with the box [start, start + size) replaced by src (pad, concat, slice assignment).
 * A kernel writes only its own output element, so the whole destination is rewritten: each thread
 * is one destination element, inside the box or not. Per dimension k (innermost first): start k,
 * size k, and the source stride k.
 */
export const SCATTER_BOX_SOURCE = kernelText(
  `dst, src, so, p0, n0, s0, p1, n1, s1, p2, n2, s2, p3, n3, s3, p4, n4, s4, d2, d3, f0, f1`,
  `${STRIDED_PREAMBLE} const x = this.thread.x; const y = this.thread.y;
  if (x >= p0 && x < p0 + n0 && y >= p1 && y < p1 + n1 && c2 >= p2 && c2 < p2 + n2 && c3 >= p3 && c3 < p3 + n3 && c4 >= p4 && c4 < p4 + n4) {
    return src[so + (this.thread.x - p0) * s0 + (this.thread.y - p1) * s1 + ((c2 | 0) - p2) * s2 + ((c3 | 0) - p3) * s3 + ((c4 | 0) - p4) * s4];
  }
  return dst[this.thread.x + f0 * (this.thread.y + f1 * this.thread.z)];`,
);

/** out = the strided view of src, made contiguous (permute, expand, slice, cast). */
export const GATHER_SOURCE = kernelText(`src, ${viewParams('s')}, d2, d3`, `${STRIDED_PREAMBLE} return ${viewAt('src', 's')};`);

export const planGather = (src: StridedView<number>, shape: Shape, out: number): Launch => {
  const g = stridedGrid('copy', shape, [src]);
  return {
    kernel: 'gather', output: g.output, out,
    args: [buf(src.buffer), ...viewArgs(g.views[0]!), int(g.unfold[0]), int(g.unfold[1])],
  };
};

/** Whether dst is the whole of a contiguous buffer of `size` elements, so a gather suffices. */
export const coversDestination = (shape: Shape, dst: StridedView<number>, size: number): boolean =>
  dst.offset === 0 && shape.reduce((a, s) => a * s, 1) === size &&
  contiguousStrides(shape).every((s, d) => shape[d] === 1 || s === dst.strides[d]);

/**
 * Copy into a box of a contiguous destination: dst.strides must be the row-major strides of the
 * destination's full shape (what pad and concat produce); that shape and the box's start are
 * recovered from them and from the offset.
 */
export function planScatter(src: StridedView<number>, shape: Shape, dst: StridedView<number>, dstSize: number, out: number): Launch {
  const rank = Math.max(shape.length, 1);
  const box = shape.length ? [...shape] : [1];
  const strides = shape.length ? [...dst.strides] : [1];
  const srcStrides = shape.length ? [...src.strides] : [0];
  const unsupported = (why: string): Error =>
    new Error(`copy: the gpu.js kernels copy only into a box of a contiguous destination (${why}); make the destination contiguous first.`);
  if (rank > GRID_RANK) throw unsupported(`rank ${rank} is over ${GRID_RANK}`);
  if (strides[rank - 1] !== 1) throw unsupported('its innermost stride is not 1');
  const full: number[] = [];
  for (let d = 0; d < rank; d++) {
    const outerStride = d === 0 ? dstSize : strides[d - 1]!;
    if (strides[d]! <= 0 || outerStride % strides[d]! !== 0) throw unsupported(`stride ${strides[d]} does not divide ${outerStride}`);
    full.push(outerStride / strides[d]!);
  }
  const start: number[] = [];
  let rest = dst.offset;
  for (let d = 0; d < rank; d++) {
    start.push(Math.floor(rest / strides[d]!));
    rest -= start[d]! * strides[d]!;
    if (start[d]! + box[d]! > full[d]!) throw unsupported(`the box leaves dimension ${d}`);
  }
  // innermost first, padded to the grid rank
  const f = full.reverse(), p = start.reverse(), n = box.reverse(), s = srcStrides.reverse();
  while (f.length < GRID_RANK) { f.push(1); p.push(0); n.push(1); s.push(0); }
  const folded = f[2]! * f[3]! * f[4]!;
  const output = f[1] === 1 && folded === 1 ? [f[0]!] : [f[0]!, f[1]!, folded];
  checkGrid('copy', output, 'make the destination smaller');
  const perDim = [0, 1, 2, 3, 4].flatMap((k) => [int(p[k]!), int(n[k]!), int(s[k]!)]);
  return {
    kernel: 'scatterBox', output, out,
    args: [buf(dst.buffer), buf(src.buffer), int(src.offset), ...perDim, int(f[2]!), int(f[3]!), int(f[0]!), int(f[1]!)],
  };
}

/** Two contiguous tensors joined along one axis; thread (x, y, z) = (inner index, index along the axis, outer index). */
export function concatKernel(this: KernelThis, a: number[], b: number[], sizeA: number, sizeB: number, inner: number): number {
  if (this.thread.y < sizeA) return a[(this.thread.z * sizeA + this.thread.y) * inner + this.thread.x];
  return b[(this.thread.z * sizeB + this.thread.y - sizeA) * inner + this.thread.x];
}

/** One launch, or null when the grid would be over the dispatch limits (the caller copies each part instead). */
export function planConcat(a: number, b: number, out: number, outer: number, sizeA: number, sizeB: number, inner: number): Launch | null {
  const output = [inner, sizeA + sizeB, outer];
  if (output[0]! > MAX_GRID_XY || output[1]! > MAX_GRID_XY || outer > MAX_GRID_Z) return null;
  return { kernel: 'concat', output, out, args: [buf(a), buf(b), int(sizeA), int(sizeB), int(inner)] };
}
