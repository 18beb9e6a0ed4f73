import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { ReduceOp } from '../../src/backend/backend';
import * as ops from '../../src/index';
import { inputArb, RUNS, shapeArb, size } from '../helpers/arbitraries';
import { gradcheck, tableRows, type GradInput } from '../helpers/gradcheck';

/** A shape with at least one dimension and a random subset of its axes (possibly negative). */
const shapeAndAxes = shapeArb(1, 4, 4).chain((shape) =>
  fc.tuple(
    fc.constant(shape),
    fc.subarray(shape.map((_, d) => d), { minLength: 1 }).chain((axes) =>
      fc.tuple(...axes.map((a) => fc.constantFrom(a, a - shape.length))),
    ),
    fc.boolean(),
  ),
);

/** Distinct values (gaps of 0.05 shuffled) so that max has no ties within h. */
const distinctInput = (shape: number[]) =>
  fc.shuffledSubarray(Array.from({ length: size(shape) }, (_, i) => i), { minLength: size(shape), maxLength: size(shape) })
    .map((perm) => ({ shape, values: perm.map((p) => p * 0.05 - 1) }));

/**
 * The Backend's reductions (ReduceOp, src/backend/backend.ts), each checked through the op of the
 * same name (ops[op]) over random axes: a reduction added to the engine without a row does not compile.
 */
const reductions: Record<ReduceOp, { title: string; input: (shape: number[]) => fc.Arbitrary<GradInput> }> = {
  sum: { title: 'sum over axes, keepdim or not', input: (s) => inputArb(s) },
  max: { title: 'max over axes (distinct values)', input: distinctInput },
};

describe('gradients of reductions', () => {
  for (const [op, { title, input }] of tableRows(reductions)) {
    it(title, () => {
      fc.assert(fc.property(shapeAndAxes.chain(([s, axes, keep]) => fc.tuple(input(s), fc.constant(axes), fc.constant(keep))),
        ([x, axes, keep]) => gradcheck((t) => ops[op](t, axes, keep), [x])), RUNS);
    });
  }
  it('sum of everything', () => {
    fc.assert(fc.property(shapeArb(0, 3).chain((s) => inputArb(s)), (x) => gradcheck((t) => ops.sum(t), [x])), RUNS);
  });
  it('min over axes (distinct values)', () => {
    fc.assert(fc.property(shapeAndAxes.chain(([s, axes, keep]) => fc.tuple(distinctInput(s), fc.constant(axes), fc.constant(keep))),
      ([x, axes, keep]) => gradcheck((t) => ops.min(t, axes, keep), [x])), RUNS);
  });
  it('mean over axes', () => {
    fc.assert(fc.property(shapeAndAxes.chain(([s, axes, keep]) => fc.tuple(inputArb(s), fc.constant(axes), fc.constant(keep))),
      ([x, axes, keep]) => gradcheck((t) => ops.mean(t, axes, keep), [x])), RUNS);
  });
  it('var over axes (correction 1 and 0)', () => {
    fc.assert(fc.property(
      shapeAndAxes.chain(([s, axes, keep]) => fc.tuple(inputArb(s), fc.constant(axes), fc.constant(keep), fc.constantFrom(0, 1))),
      ([x, axes, keep, correction]) => {
        const n = axes.reduce((acc, a) => acc * x.shape[(a + x.shape.length) % x.shape.length]!, 1);
        fc.pre(n - correction > 0);
        gradcheck((t) => ops.variance(t, axes, keep, correction), [x]);
      }), RUNS);
  });
});

describe('gradients of movement ops', () => {
  it('reshape (with -1)', () => {
    fc.assert(fc.property(shapeArb(1, 3).chain((s) => inputArb(s)), (x) =>
      gradcheck((t) => ops.reshape(t, [-1]).mul(ops.reshape(t, [-1])), [x])), RUNS);
  });
  it('flatten from a random axis (negative too)', () => {
    fc.assert(fc.property(
      shapeArb(0, 4, 3).chain((s) => fc.tuple(inputArb(s), fc.integer({ min: -Math.max(s.length, 1), max: Math.max(s.length, 1) - 1 }))),
      ([x, axis]) => gradcheck((t) => ops.flatten(t, axis).square(), [x])), RUNS);
  });
  it('unsqueeze at a random axis (negative too)', () => {
    fc.assert(fc.property(
      shapeArb(0, 3).chain((s) => fc.tuple(inputArb(s), fc.integer({ min: -s.length - 1, max: s.length }))),
      ([x, axis]) => gradcheck((t) => ops.unsqueeze(t, axis).square(), [x])), RUNS);
  });
  it('squeeze of every size-1 axis, or of one (negative too)', () => {
    fc.assert(fc.property(
      shapeArb(0, 4, 2).chain((s) => fc.tuple(inputArb(s), fc.constantFrom(undefined, ...s.flatMap((n, d) => (n === 1 ? [d, d - s.length] : []))))),
      ([x, axis]) => gradcheck((t) => ops.squeeze(t, axis).square(), [x])), RUNS);
  });
  it('permute by a random order', () => {
    fc.assert(fc.property(
      shapeArb(1, 4).chain((s) => fc.tuple(inputArb(s), fc.shuffledSubarray(s.map((_, d) => d), { minLength: s.length, maxLength: s.length }))),
      ([x, order]) => gradcheck((t) => ops.permute(t, order).mul(ops.arange(size(x.shape), undefined, 1, { dtype: t.dtype }).reshape(ops.permute(t, order).shape)), [x])), RUNS);
  });
  it('transpose of the last two axes', () => {
    fc.assert(fc.property(shapeArb(2, 3).chain((s) => inputArb(s)), (x) => gradcheck((t) => ops.transpose(t).square(), [x])), RUNS);
  });
  it('expand to a broadcast shape', () => {
    fc.assert(fc.property(
      shapeArb(1, 3).chain((full) => fc.tuple(
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }).chain((ones) => inputArb(full.map((s, d) => (ones[d] ? 1 : s)))),
        fc.constant(full),
        fc.integer({ min: 0, max: 2 }),
      )),
      ([x, full, extra]) => gradcheck((t) => ops.expand(t, [...Array(extra).fill(2), ...full]), [x])), RUNS);
  });
  it('slice with random ranges (negative indices too)', () => {
    fc.assert(fc.property(
      shapeArb(1, 3).chain((s) => fc.tuple(
        inputArb(s),
        fc.tuple(...s.map((n) => fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: n })).map(([a, b]) => [Math.min(a, b - 1), Math.max(a + 1, b)] as const))),
        fc.boolean(),
      )),
      ([x, ranges, negative]) => {
        const starts = ranges.map(([a], d) => (negative ? a - x.shape[d]! : a));
        gradcheck((t) => ops.slice(t, starts, ranges.map(([, b]) => b)), [x]);
      }), RUNS);
  });
  it('pad with random amounts and value', () => {
    fc.assert(fc.property(
      shapeArb(1, 3).chain((s) => fc.tuple(
        inputArb(s),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: s.length }),
        fc.double({ min: -1, max: 1, noNaN: true }),
      )),
      ([x, padding, value]) => gradcheck((t) => ops.pad(t, padding, value).square(), [x])), RUNS);
  });
  it('concat of two or three tensors along a random axis', () => {
    fc.assert(fc.property(
      shapeArb(1, 3).chain((s) => fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 3 }).chain((sizes) =>
          fc.tuple(fc.constant(axis), fc.tuple(...sizes.map((n) => inputArb(s.map((d, i) => (i === axis ? n : d))))))))),
      ([axis, parts]) => gradcheck((...ts) => ops.concat(ts, axis).square(), parts)), RUNS);
  });
});
