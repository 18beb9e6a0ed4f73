import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { BinaryOp, DifferentiableUnaryOp, UnaryOp } from '../../src/backend/backend';
import * as ops from '../../src/index';
import type { Tensor } from '../../src/index';
import { awayFrom, broadcastPairArb, inputArb, RUNS, shapeArb, size } from '../helpers/arbitraries';
import { gradcheck, tableRows } from '../helpers/gradcheck';

// Every differentiable elementwise op: tape gradient == central differences (float64, ~1e-6 relative).
// The tables are keyed by the Backend's op unions (src/backend/backend.ts) and call the op of the
// same name (ops[op]): an op added to the engine without a row here does not compile.

/** The unary ops with a gradient: all of UNARY_OPS but 'sign' (no op on tensors), and any with a fused gradient kernel. */
type GradUnaryOp = Exclude<UnaryOp, 'sign'> | DifferentiableUnaryOp;
/** The binary ops with a gradient: all of BINARY_OPS but the comparisons (0/1, no gradient). */
type GradBinaryOp = Exclude<BinaryOp, 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne'>;

/** A unary op's input range [min, max] and the kinks to stay away from. */
type UnaryRow = [min: number, max: number, kinks: number[]];

const unary: Record<GradUnaryOp, UnaryRow> = {
  neg: [-2, 2, []],
  exp: [-2, 2, []],
  log: [0.1, 3, []],
  sin: [-3, 3, []],
  cos: [-3, 3, []],
  sqrt: [0.1, 3, []],
  tanh: [-3, 3, []],
  sigmoid: [-4, 4, []],
  silu: [-4, 4, []],
  relu: [-2, 2, [0]],
  abs: [-2, 2, [0]],
  square: [-2, 2, []],
  reciprocal: [0.2, 3, []],
};

/** A case to check: its name, the function and its row. */
type UnaryCase = [name: string, f: (x: Tensor) => Tensor, ...row: UnaryRow];

/** Compositions beyond the unary ops. */
const unaryExtra: UnaryCase[] = [
  ['clamp', (x) => ops.clamp(x, -0.5, 0.7), -2, 2, [-0.5, 0.7]],
  ['pow (constant exponent)', (x) => ops.pow(x, 2.5), 0.1, 3, []],
];

describe('gradients of unary ops', () => {
  const cases: UnaryCase[] = [...tableRows(unary).map(([op, row]): UnaryCase => [op, ops[op], ...row]), ...unaryExtra];
  for (const [name, f, min, max, kinks] of cases) {
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

/** A binary op's input ranges, and whether to keep a and b apart (maximum and minimum: no ties). */
interface BinaryRow {
  a: [number, number];
  b: [number, number];
  awayFromTies?: boolean;
}

const binary: Record<GradBinaryOp, BinaryRow> = {
  add: { a: [-2, 2], b: [-2, 2] },
  sub: { a: [-2, 2], b: [-2, 2] },
  mul: { a: [-2, 2], b: [-2, 2] },
  div: { a: [-2, 2], b: [0.3, 2] },
  pow: { a: [0.2, 2], b: [-1.5, 1.5] },
  maximum: { a: [-2, 2], b: [-2, 2], awayFromTies: true },
  minimum: { a: [-2, 2], b: [-2, 2], awayFromTies: true },
};

describe('gradients of broadcasting binary ops', () => {
  for (const [op, { a: ra, b: rb, awayFromTies }] of tableRows(binary)) {
    const f = ops[op];
    it(awayFromTies ? `${op} over broadcast shapes (away from ties)` : `${op} over broadcast shapes`, () => {
      fc.assert(
        fc.property(
          broadcastPairArb.chain(([sa, sb]) => fc.tuple(inputArb(sa, ...ra), inputArb(sb, ...rb))),
          ([a, b]) => {
            if (awayFromTies) fc.pre(awayFrom(a.values, b.values, 1e-3));
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

describe('gradient of cast', () => {
  // The float64 -> float32 -> float64 round trip rounds, and at the default step h = 1e-5 that
  // rounding alone moves a central difference by ~1e-2 relative. Inputs on the 2^-10 grid in [-2, 2]
  // with h = 2^-10 keep x and x +- h exact in float32, so the round trip and the central differences
  // are exact and the default tolerances apply as they are.
  it('to the other float dtype and back', () => {
    fc.assert(fc.property(
      shapeArb(0, 3).chain((shape) => fc.array(fc.integer({ min: -2048, max: 2048 }), { minLength: size(shape), maxLength: size(shape) })
        .map((k) => ({ shape, values: k.map((v) => v / 1024) }))),
      (x) => gradcheck((t) => ops.cast(ops.cast(t, t.dtype === 'float64' ? 'float32' : 'float64'), t.dtype).square(), [x], { h: 2 ** -10 })), RUNS);
  });
});
