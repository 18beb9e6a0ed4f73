import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as ops from '../../src/index';
import { Generator } from '../../src/index';
import { broadcastOf, inputArb, RUNS, shapeArb } from '../helpers/arbitraries';
import { gradcheck } from '../helpers/gradcheck';

describe('gradient of matmul and linear', () => {
  it('matmul with broadcast batch dimensions', () => {
    fc.assert(fc.property(
      fc.tuple(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
        .chain(([batch, m, k, n]) => fc.tuple(broadcastOf(batch), broadcastOf(batch)).chain(([ba, bb]) =>
          fc.tuple(inputArb([...ba, m, k]), inputArb([...bb, k, n])))),
      ([a, b]) => gradcheck(ops.matmul, [a, b])), RUNS);
  });
  it('matmul with vectors (1-d operands)', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom('vm', 'mv', 'vv')).chain(([k, n, kind]) =>
        fc.tuple(inputArb(kind === 'mv' ? [n, k] : [k]), inputArb(kind === 'vm' ? [k, n] : [k]))),
      ([a, b]) => gradcheck(ops.matmul, [a, b])), RUNS);
  });
  it('linear with and without bias over leading dimensions', () => {
    fc.assert(fc.property(
      fc.tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean())
        .chain(([lead, inF, outF, withBias]) => fc.tuple(inputArb([...lead, inF]), inputArb([outF, inF]), withBias ? inputArb([outF]).map((b) => [b]) : fc.constant([]))),
      ([x, w, bias]) => gradcheck((...ts) => ops.linear(ts[0]!, ts[1]!, ts[2]), [x, w, ...bias])), RUNS);
  });
});

describe('gradient of conv2d', () => {
  it('over random stride, padding, channels, kernel and bias', () => {
    fc.assert(fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 2 }), cIn: fc.integer({ min: 1, max: 3 }), cOut: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
        stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })), padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
        bias: fc.boolean(),
      }).chain((p) => fc.tuple(fc.constant(p), inputArb([p.n, p.cIn, p.h, p.w]), inputArb([p.cOut, p.cIn, p.kh, p.kw]), inputArb([p.cOut]))),
      ([p, x, w, b]) => gradcheck((...ts) => ops.conv2d(ts[0]!, ts[1]!, ts[2], { stride: p.stride, padding: p.padding }), p.bias ? [x, w, b] : [x, w])),
    { numRuns: 20 });
  });
});

describe('gradients of groupNorm and groupNormSilu', () => {
  for (const [name, op] of [['groupNorm', ops.groupNorm], ['groupNormSilu (fused SiLU)', ops.groupNormSilu]] as const) {
    it(`${name} over random group counts, with the affine parameters`, () => {
      fc.assert(fc.property(
        fc.record({ n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), perGroup: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 3 }), w: fc.integer({ min: 1, max: 3 }) })
          .filter((p) => p.perGroup * p.h * p.w > 1)
          .chain((p) => fc.tuple(fc.constant(p), inputArb([p.n, p.groups * p.perGroup, p.h, p.w]), inputArb([p.groups * p.perGroup]), inputArb([p.groups * p.perGroup]))),
        ([p, x, gamma, beta]) => {
          // Near zero group variance rstd = 1/sqrt(var + eps) curves on the scale sqrt(eps) ~ h, where
          // central differences themselves stop being accurate; keep each group's spread real.
          const perSample = x.values.length / p.n, perGroup = perSample / p.groups;
          for (let i = 0; i < x.values.length; i += perGroup) {
            const g = x.values.slice(i, i + perGroup);
            const m = g.reduce((a, v) => a + v, 0) / g.length;
            fc.pre(g.reduce((a, v) => a + (v - m) ** 2, 0) / g.length > 1e-2);
          }
          gradcheck((a, g, b) => op(a, p.groups, g, b), [x, gamma, beta]);
        }), RUNS);
    });
  }
});

describe('gradient of nearest interpolation', () => {
  it('up-sampling x2', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain((s) => inputArb(s)),
      (x) => gradcheck((t) => ops.interpolate(t, { scaleFactor: 2 }).square(), [x])), RUNS);
  });
  it('down-sampling x0.5 (odd sizes too)', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 2, max: 5 })).chain((s) => inputArb(s)),
      (x) => gradcheck((t) => ops.interpolate(t, { scaleFactor: 0.5 }).square(), [x])), RUNS);
  });
  it('upsampleNearest2x', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain((s) => inputArb(s)),
      (x) => gradcheck((t) => ops.upsampleNearest2x(t).square(), [x])), RUNS);
  });
  it('downsampleNearest2x (odd sizes too)', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 2, max: 5 })).chain((s) => inputArb(s)),
      (x) => gradcheck((t) => ops.downsampleNearest2x(t).square(), [x])), RUNS);
  });
  it('avgPool2x2', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([n, c, h, w]) => inputArb([n, c, 2 * h, 2 * w])),
      (x) => gradcheck((t) => ops.avgPool2x2(t).square(), [x])), RUNS);
  });
});

describe('gradient of dropout', () => {
  // A generator seeded afresh on every call draws the same mask each time, so dropout is a fixed
  // linear map that central differences can check (dropped values must get no gradient).
  it('with the mask fixed by a seeded generator', () => {
    fc.assert(fc.property(
      fc.tuple(shapeArb(1, 3).chain((s) => inputArb(s)), fc.constantFrom(0, 0.2, 0.5, 0.8), fc.nat()),
      ([x, p, seed]) => gradcheck((t) => ops.dropout(t, p, new Generator(seed)).square(), [x])), RUNS);
  });
});

describe('gradients of softmax, log-softmax and losses', () => {
  const matrixAndAxis = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1 }));
  it('softmax along a random axis', () => {
    fc.assert(fc.property(matrixAndAxis.chain(([a, b, axis]) => fc.tuple(inputArb([a, b], -3, 3), fc.constant(axis))),
      ([x, axis]) => gradcheck((t) => ops.softmax(t, axis), [x])), RUNS);
  });
  it('softmax over the last axis of 3-d tensors, rows of 4 and 8 values among them', () => {
    fc.assert(fc.property(fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 3, 4, 8)).chain((s) => inputArb(s, -3, 3)),
      (x) => gradcheck((t) => ops.softmax(t, -1), [x])), RUNS);
  });
  it('attention over [B, d, n] with the default and a given scale', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 3, 4, 8), fc.option(fc.double({ min: -2, max: 2, noNaN: true }), { nil: undefined }))
        .chain(([b, d, n, scale]) => fc.tuple(inputArb([b, d, n], -2, 2), inputArb([b, d, n], -2, 2), inputArb([b, d, n], -2, 2), fc.constant(scale))),
      ([q, k, v, scale]) => gradcheck((...ts) => ops.attention(ts[0]!, ts[1]!, ts[2]!, scale), [q, k, v])), RUNS);
  });
  it('logSoftmax along a random axis', () => {
    fc.assert(fc.property(matrixAndAxis.chain(([a, b, axis]) => fc.tuple(inputArb([a, b], -3, 3), fc.constant(axis))),
      ([x, axis]) => gradcheck((t) => ops.logSoftmax(t, axis), [x])), RUNS);
  });
  it('mseLoss', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }).chain((s) => fc.tuple(inputArb(s), inputArb(s))),
      ([a, b]) => gradcheck(ops.mseLoss, [a, b])), RUNS);
  });
  it('crossEntropy with integer labels', () => {
    fc.assert(fc.property(
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 })).chain(([n, c]) =>
        fc.tuple(inputArb([n, c], -3, 3), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }))),
      ([logits, labels]) => gradcheck((t) => ops.crossEntropy(t, labels), [logits])), RUNS);
  });
});
