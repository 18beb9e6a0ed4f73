import type { Shape } from '../../src/backend/backend';
import { contiguousStrides } from '../../src/backend/strides';
import { checkGrid, int, type LaunchArg } from './launch';

export const GRID_RANK = 5;

/**
 * Maps the elements of `shape` (row-major, the output's order) onto a gpu.js output grid: the two
 * innermost dimensions become thread.x and thread.y, the rest fold into thread.z (kernels unfold z
 * with f32 arithmetic, exact because z < 65536). Dimensions that are contiguous in every view are
 * merged first, so most ops run on a rank-1 grid, which has no size limit. Each view's element
 * index is then offset + x*s0 + y*s1 + c2*s2 + c3*s3 + c4*s4, all in i32.
 */
interface StridedGrid {
  output: number[];
  /** d2, d3: the sizes the kernel unfolds z by. */
  unfold: [number, number];
  /** Per view: [offset, s0, s1, s2, s3, s4]. */
  views: number[][];
}

export function stridedGrid(op: string, shape: Shape, views: readonly { offset: number; strides: readonly number[] }[]): StridedGrid {
  const all = [contiguousStrides(shape), ...views.map((v) => v.strides)];
  const dims: number[] = [];
  const merged: number[][] = all.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && all.every((s, v) => merged[v]![last] === s[d]! * size)) {
      dims[last]! *= size;
      all.forEach((s, v) => (merged[v]![last] = s[d]!));
      continue;
    }
    dims.push(size);
    all.forEach((s, v) => merged[v]!.push(s[d]!));
  }
  if (dims.length > GRID_RANK) {
    throw new Error(
      `${op}: this strided layout has ${dims.length} dimensions that cannot be merged; the gpu.js kernels handle at most ` +
        `${GRID_RANK}. Make the operand contiguous first (e.g. .contiguous() or a reshape).`,
    );
  }
  // Innermost first, padded with size-1 dimensions.
  const inner = dims.slice().reverse();
  const innerStrides = merged.map((s) => s.slice().reverse());
  while (inner.length < GRID_RANK) {
    inner.push(1);
    innerStrides.forEach((s) => s.push(0));
  }
  const folded = inner[2]! * inner[3]! * inner[4]!;
  const rank1 = inner[1] === 1 && folded === 1;
  const output = rank1 ? [inner[0]!] : [inner[0]!, inner[1]!, folded];
  checkGrid(`${op} over [${shape.join(', ')}]`, output, 'reshape the operands so the two innermost dimensions are smaller');
  return {
    output,
    unfold: [inner[2]!, inner[3]!],
    views: views.map((v, i) => [v.offset, ...innerStrides[i + 1]!]),
  };
}

export const viewArgs = (view: number[]): LaunchArg[] => view.map(int);

/**
 * A strided grid (grid.ts) has the two innermost dimensions as thread.x and thread.y and folds the
 * rest into thread.z; this unfolds z into c2, c3, c4 (f32 arithmetic, exact because z < 65536).
 */
export const STRIDED_PREAMBLE =
  'const z = this.thread.z; const t = Math.floor((z + 0.5) / d2); const c2 = z - t * d2; ' +
  'const c4 = Math.floor((t + 0.5) / d3); const c3 = t - c4 * d3;';
/** The parameters of one strided view named p: its offset and five strides. */
export const viewParams = (p: string): string => `${p}o, ${p}0, ${p}1, ${p}2, ${p}3, ${p}4`;
/** Element of buffer `name` at the current grid position through view p. */
export const viewAt = (name: string, p: string): string =>
  `${name}[${p}o + this.thread.x * ${p}0 + this.thread.y * ${p}1 + (c2 | 0) * ${p}2 + (c3 | 0) * ${p}3 + (c4 | 0) * ${p}4]`;

