import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as ops from '../../src/index';
import type { Tensor } from '../../src/index';
import { awayFrom, broadcastPairArb, inputArb, RUNS, shapeArb } from '../helpers/arbitraries';
import { gradcheck } from '../helpers/gradcheck';

// Every differentiable elementwise op: tape gradient == central differences (float64, ~1e-6 relative).

const unary: [string, (x: Tensor) => Tensor, number, number, number[]][] = [
  // name, op, min, max, kinks to stay away from
  ['neg', ops.neg, -2, 2, []],
  ['exp', ops.exp, -2, 2, []],
  ['log', ops.log, 0.1, 3, []],
  ['sin', ops.sin, -3, 3, []],
  ['cos', ops.cos, -3, 3, []],
  ['sqrt', ops.sqrt, 0.1, 3, []],
  ['tanh', ops.tanh, -3, 3, []],
  ['sigmoid', ops.sigmoid, -4, 4, []],
  ['silu', ops.silu, -4, 4, []],
  ['relu', ops.relu, -2, 2, [0]],
  ['abs', ops.abs, -2, 2, [0]],
  ['square', ops.square, -2, 2, []],
  ['reciprocal', ops.reciprocal, 0.2, 3, []],
  ['clamp', (x) => ops.clamp(x, -0.5, 0.7), -2, 2, [-0.5, 0.7]],
  ['pow (constant exponent)', (x) => ops.pow(x, 2.5), 0.1, 3, []],
];

describe('gradients of unary ops', () => {
  for (const [name, f, min, max, kinks] of unary) {
    it(name, () => {
      fc.assert(
        fc.property(shapeArb(0, 3).chain((s) => inputArb(s, min, max)), (x) => {
          fc.pre(awayFrom(x.values, kinks));
          gradcheck(f, [x]);
        }),
        RUNS,
      );
    });
  }
});

const binary: [string, (a: Tensor, b: Tensor) => Tensor, [number, number], [number, number]][] = [
  ['add', ops.add, [-2, 2], [-2, 2]],
  ['sub', ops.sub, [-2, 2], [-2, 2]],
  ['mul', ops.mul, [-2, 2], [-2, 2]],
  ['div', ops.div, [-2, 2], [0.3, 2]],
  ['pow', ops.pow, [0.2, 2], [-1.5, 1.5]],
];

describe('gradients of broadcasting binary ops', () => {
  for (const [name, f, ra, rb] of binary) {
    it(`${name} over broadcast shapes`, () => {
      fc.assert(
        fc.property(
          broadcastPairArb.chain(([sa, sb]) => fc.tuple(inputArb(sa, ...ra), inputArb(sb, ...rb))),
          ([a, b]) => gradcheck(f, [a, b]),
        ),
        RUNS,
      );
    });
  }

  for (const [name, f] of [['maximum', ops.maximum], ['minimum', ops.minimum]] as const) {
    it(`${name} over broadcast shapes (away from ties)`, () => {
      fc.assert(
        fc.property(
          broadcastPairArb.chain(([sa, sb]) => fc.tuple(inputArb(sa), inputArb(sb))),
          ([a, b]) => {
            fc.pre(awayFrom(a.values, b.values, 1e-3));
            gradcheck(f, [a, b]);
          },
        ),
        RUNS,
      );
    });
  }

  it('where over broadcast shapes (condition from a comparison)', () => {
    fc.assert(
      fc.property(
        broadcastPairArb.chain(([sa, sb]) => fc.tuple(inputArb(sa), inputArb(sb), inputArb(sb))),
        ([c, a, b]) => gradcheck((cond, x, y) => ops.where(ops.gt(cond, 0), x, y), [c, a, b], { constant: [true, false, false] }),
      ),
      RUNS,
    );
  });
});
