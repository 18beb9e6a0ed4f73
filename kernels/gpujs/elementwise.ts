import type { BinaryOp, DifferentiableUnaryOp, Shape, StridedView, UnaryOp } from '../../src/backend/backend';
import { STRIDED_PREAMBLE, stridedGrid, viewArgs, viewAt, viewParams } from './grid';
import { buf, float, kernelText as source, type KernelThis, type Launch } from './launch';

// The elementwise kernels, one compiled kernel per op. Each op's body comes from one table typed
// by the op lists of src/backend/backend.ts (an op without a body is a compile error, and there
// is no fall-through branch); the kernel sources are assembled from these bodies as text, which
// gpu.js parses like a function's source, so the index-unfolding preamble of the strided kernels
// is written once (STRIDED_PREAMBLE). Bodies are plain JavaScript that gpu.js translates.

/** Unary bodies: `v` is the input; each ends in a return. */
const UNARY_BODIES: Record<UnaryOp, string> = {
  neg: 'return -v;',
  exp: 'return Math.exp(v);',
  log: 'return Math.log(v);',
  sin: 'return Math.sin(v);',
  cos: 'return Math.cos(v);',
  sqrt: 'return Math.sqrt(v);',
  // tanh through exp(-2|v|), which cannot overflow
  tanh: 'const e = Math.exp(-2 * Math.abs(v)); const t = (1 - e) / (1 + e); return v < 0 ? -t : t;',
  sigmoid: 'if (v >= 0) { return 1 / (1 + Math.exp(-v)); } return Math.exp(v) / (1 + Math.exp(v));',
  relu: 'return v > 0 ? v : 0;',
  abs: 'return Math.abs(v);',
  sign: 'if (v > 0) { return 1; } if (v < 0) { return -1; } return 0;',
  silu: 'if (v >= 0) { return v / (1 + Math.exp(-v)); } return (v * Math.exp(v)) / (1 + Math.exp(v));',
  reciprocal: 'return 1 / v;',
  square: 'return v * v;',
};

/** Sets `s` to sigmoid(v) without overflow (shared with norm.ts's SiLU gradient). */
export const SIGMOID_OF_V = 'let s = 0; if (v >= 0) { s = 1 / (1 + Math.exp(-v)); } else { s = Math.exp(v) / (1 + Math.exp(v)); }';

/** grad * f'(v): `v` is the input, `d` the incoming gradient. */
const UNARY_GRAD_BODIES: Record<DifferentiableUnaryOp, string> = {
  sin: 'return d * Math.cos(v);',
  cos: 'return -d * Math.sin(v);',
  tanh: 'const e = Math.exp(-2 * Math.abs(v)); const t = (1 - e) / (1 + e); return d * (1 - t * t);',
  sigmoid: `${SIGMOID_OF_V} return d * s * (1 - s);`,
  silu: `${SIGMOID_OF_V} return d * s * (1 + v * (1 - s));`,
  relu: 'return v > 0 ? d : 0;',
  abs: 'if (v > 0) { return d; } if (v < 0) { return -d; } return 0;',
};

/** Binary bodies: `x` and `y` are the operands. */
const BINARY_BODIES: Record<BinaryOp, string> = {
  add: 'return x + y;',
  sub: 'return x - y;',
  mul: 'return x * y;',
  div: 'return x / y;',
  // WGSL pow is undefined for negative bases; JavaScript's is defined for integer exponents.
  pow: 'if (y === 0) { return 1; } if (x >= 0) { return Math.pow(x, y); } if (Math.floor(y) !== y) { return Math.sqrt(-1 - Math.abs(x)); } ' +
    'const p = Math.pow(-x, y); const half = y * 0.5; return Math.floor(half) === half ? p : -p;',
  maximum: 'return Math.max(x, y);',
  minimum: 'return Math.min(x, y);',
  lt: 'return x < y ? 1 : 0;',
  le: 'return x <= y ? 1 : 0;',
  gt: 'return x > y ? 1 : 0;',
  ge: 'return x >= y ? 1 : 0;',
  eq: 'return x === y ? 1 : 0;',
  ne: 'return x !== y ? 1 : 0;',
};


/** One source per op, named `family.op`. */
function sources<Family extends string, Op extends string>(
  family: Family, bodies: Record<Op, string>, make: (body: string) => string,
): Record<`${Family}.${Op}`, string> {
  return Object.fromEntries(Object.entries<string>(bodies).map(([op, body]) => [`${family}.${op}`, make(body)])) as Record<`${Family}.${Op}`, string>;
}

export const ELEMENTWISE_SOURCES = {
  fill: source('value', 'return value;'),
  ...sources('unary', UNARY_BODIES, (body) => source('x', `const v = x[this.thread.x]; ${body}`)),
  ...sources('unaryGrad', UNARY_GRAD_BODIES, (body) => source('x, g', `const v = x[this.thread.x]; const d = g[this.thread.x]; ${body}`)),
  ...sources('binary', BINARY_BODIES, (body) => source(
    `a, b, ${viewParams('a')}, ${viewParams('b')}, d2, d3`,
    `${STRIDED_PREAMBLE} const x = ${viewAt('a', 'a')}; const y = ${viewAt('b', 'b')}; ${body}`,
  )),
  // One operand is a number (a uniform) instead of a one-element buffer: `s`, on the right unless SCALAR_LEFT.
  ...sources('binaryScalar', BINARY_BODIES, (body) => source(
    `a, ${viewParams('a')}, d2, d3, s`,
    `${STRIDED_PREAMBLE} let x = ${viewAt('a', 'a')}; let y = s; if (this.constants.SCALAR_LEFT === 1) { y = x; x = s; } ${body}`,
  )),
  where: source(
    `k, a, b, ${viewParams('k')}, ${viewParams('a')}, ${viewParams('b')}, d2, d3`,
    `${STRIDED_PREAMBLE} if (${viewAt('k', 'k')} !== 0) { return ${viewAt('a', 'a')}; } return ${viewAt('b', 'b')};`,
  ),
} satisfies Record<string, string>;

export const planFill = (out: number, size: number, value: number): Launch => ({
  kernel: 'fill', output: [size], args: [float(value)], out,
});

export const planUnary = (op: UnaryOp, x: number, out: number, size: number): Launch => ({
  kernel: `unary.${op}`, output: [size], args: [buf(x)], out,
});

export const planUnaryGrad = (op: DifferentiableUnaryOp, x: number, grad: number, out: number, size: number): Launch => ({
  kernel: `unaryGrad.${op}`, output: [size], args: [buf(x), buf(grad)], out,
});

export function planBinary(op: BinaryOp, a: StridedView<number>, b: StridedView<number>, shape: Shape, out: number): Launch {
  const g = stridedGrid(op, shape, [a, b]);
  return {
    kernel: `binary.${op}`, output: g.output, out,
    args: [buf(a.buffer), buf(b.buffer), ...viewArgs(g.views[0]!), ...viewArgs(g.views[1]!), ...viewArgs([g.unfold[0], g.unfold[1]])],
  };
}

/** op(a, s) (or op(s, a) when scalarLeft) with the number s as a uniform. */
export function planBinaryScalar(op: BinaryOp, a: StridedView<number>, s: number, scalarLeft: boolean, shape: Shape, out: number): Launch {
  const g = stridedGrid(op, shape, [a]);
  return {
    kernel: `binaryScalar.${op}`, constants: { SCALAR_LEFT: scalarLeft ? 1 : 0 }, output: g.output, out,
    args: [buf(a.buffer), ...viewArgs(g.views[0]!), ...viewArgs([g.unfold[0], g.unfold[1]]), float(s)],
  };
}

export function planWhere(
  c: StridedView<number>, a: StridedView<number>, b: StridedView<number>, shape: Shape, out: number,
): Launch {
  const g = stridedGrid('where', shape, [c, a, b]);
  return {
    kernel: 'where', output: g.output, out,
    args: [
      buf(c.buffer), buf(a.buffer), buf(b.buffer),
      ...viewArgs(g.views[0]!), ...viewArgs(g.views[1]!), ...viewArgs(g.views[2]!), ...viewArgs([g.unfold[0], g.unfold[1]]),
    ],
  };
}

export type { KernelThis };
