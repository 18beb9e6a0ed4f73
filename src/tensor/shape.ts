import type { Shape } from '../backend/backend';

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

import { contiguousStrides } from '../backend/strides';

export { contiguousStrides };


/** NumPy broadcasting: align trailing dimensions; each pair must be equal or contain a 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (let d = 0; d < nd; d++) {
    for (const s of shapes) {
      const size = s[s.length - nd + d] ?? 1;
      if (size === 1) continue;
      if (out[d] !== 1 && out[d] !== size) {
        throw new Error(
          `${op}: cannot broadcast shapes ${shapes.map(formatShape).join(' and ')}: ` +
            `dimension ${d - nd} has sizes ${out[d]} and ${size}. Sizes must match or one must be 1 ` +
            `(reshape or expand one operand).`,
        );
      }
      out[d] = size;
    }
  }
  return out;
}

/** Strides that read a contiguous tensor of `shape` as if it had `outShape` (stride 0 where broadcast). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => {
    const i = d - offset;
    return i < 0 || shape[i] === 1 ? 0 : own[i]!;
  });
}

export function normalizeAxis(op: string, axis: number, ndim: number): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= ndim) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dimensions (use -${ndim}..${ndim - 1}).`);
  }
  return a;
}

export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new Error(`${op}: axes ${formatShape(list)} repeat a dimension.`);
  return out.sort((x, y) => x - y);
}

export function checkShape(op: string, shape: Shape): void {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) {
      throw new Error(`${op}: invalid shape ${formatShape(shape)}: sizes must be non-negative integers.`);
    }
  }
}
