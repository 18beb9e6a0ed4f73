import type { BinaryOp, DifferentiableUnaryOp, Shape, StridedView, UnaryOp } from '../../src/backend/backend';
import { BINARY_OPS, DIFFERENTIABLE_UNARY_OPS, UNARY_OPS } from '../../src/backend/backend';
import { stridedGrid, viewArgs } from './grid';
import { buf, float, int, type KernelThis, type Launch } from './launch';

// Op codes are indices into the op lists of src/backend/backend.ts; each becomes a constant, so
// every op compiles to its own kernel with the other branches folded away.

export function fillKernel(this: KernelThis, value: number): number {
  return value;
}

export function unaryKernel(this: KernelThis, x: number[]): number {
  const v = x[this.thread.x];
  const op = this.constants.OP;
  if (op === 0) return -v;
  if (op === 1) return Math.exp(v);
  if (op === 2) return Math.log(v);
  if (op === 3) return Math.sin(v);
  if (op === 4) return Math.cos(v);
  if (op === 5) return Math.sqrt(v);
  if (op === 6) {
    // tanh through exp(-2|v|), which cannot overflow
    const e = Math.exp(-2 * Math.abs(v));
    const t = (1 - e) / (1 + e);
    return v < 0 ? -t : t;
  }
  if (op === 7) {
    if (v >= 0) return 1 / (1 + Math.exp(-v));
    return Math.exp(v) / (1 + Math.exp(v));
  }
  if (op === 8) return v > 0 ? v : 0;
  if (op === 9) return Math.abs(v);
  if (op === 10) {
    if (v > 0) return 1;
    if (v < 0) return -1;
    return 0;
  }
  if (op === 11) {
    if (v >= 0) return v / (1 + Math.exp(-v));
    return (v * Math.exp(v)) / (1 + Math.exp(v));
  }
  if (op === 12) return 1 / v;
  return v * v;
}

export function unaryGradKernel(this: KernelThis, x: number[], g: number[]): number {
  const v = x[this.thread.x];
  const d = g[this.thread.x];
  const op = this.constants.OP;
  if (op === 0) return d * Math.cos(v);
  if (op === 1) return -d * Math.sin(v);
  if (op === 2) {
    const e = Math.exp(-2 * Math.abs(v));
    const t = (1 - e) / (1 + e);
    return d * (1 - t * t);
  }
  let s = 0;
  if (v >= 0) {
    s = 1 / (1 + Math.exp(-v));
  } else {
    s = Math.exp(v) / (1 + Math.exp(v));
  }
  if (op === 3) return d * s * (1 - s);
  if (op === 4) return d * s * (1 + v * (1 - s));
  if (op === 5) return v > 0 ? d : 0;
  if (v > 0) return d;
  if (v < 0) return -d;
  return 0;
}

export function binaryKernel(
  this: KernelThis, a: number[], b: number[],
  ao: number, a0: number, a1: number, a2: number, a3: number, a4: number,
  bo: number, b0: number, b1: number, b2: number, b3: number, b4: number,
  d2: number, d3: number,
): number {
  const z = this.thread.z;
  const t = Math.floor((z + 0.5) / d2);
  const c2 = z - t * d2;
  const c4 = Math.floor((t + 0.5) / d3);
  const c3 = t - c4 * d3;
  const x = a[ao + this.thread.x * a0 + this.thread.y * a1 + (c2 | 0) * a2 + (c3 | 0) * a3 + (c4 | 0) * a4];
  const y = b[bo + this.thread.x * b0 + this.thread.y * b1 + (c2 | 0) * b2 + (c3 | 0) * b3 + (c4 | 0) * b4];
  const op = this.constants.OP;
  if (op === 0) return x + y;
  if (op === 1) return x - y;
  if (op === 2) return x * y;
  if (op === 3) return x / y;
  if (op === 4) {
    // WGSL pow is undefined for negative bases; JavaScript's is defined for integer exponents.
    if (y === 0) return 1;
    if (x >= 0) return Math.pow(x, y);
    if (Math.floor(y) !== y) return Math.sqrt(-1 - Math.abs(x));
    const p = Math.pow(-x, y);
    const half = y * 0.5;
    return Math.floor(half) === half ? p : -p;
  }
  if (op === 5) return Math.max(x, y);
  if (op === 6) return Math.min(x, y);
  if (op === 7) return x < y ? 1 : 0;
  if (op === 8) return x <= y ? 1 : 0;
  if (op === 9) return x > y ? 1 : 0;
  if (op === 10) return x >= y ? 1 : 0;
  if (op === 11) return x === y ? 1 : 0;
  return x !== y ? 1 : 0;
}

export function whereKernel(
  this: KernelThis, c: number[], a: number[], b: number[],
  co: number, c0: number, c1: number, c2s: number, c3s: number, c4s: number,
  ao: number, a0: number, a1: number, a2: number, a3: number, a4: number,
  bo: number, b0: number, b1: number, b2: number, b3: number, b4: number,
  d2: number, d3: number,
): number {
  const z = this.thread.z;
  const t = Math.floor((z + 0.5) / d2);
  const c2 = z - t * d2;
  const c4 = Math.floor((t + 0.5) / d3);
  const c3 = t - c4 * d3;
  const cond = c[co + this.thread.x * c0 + this.thread.y * c1 + (c2 | 0) * c2s + (c3 | 0) * c3s + (c4 | 0) * c4s];
  if (cond !== 0) {
    return a[ao + this.thread.x * a0 + this.thread.y * a1 + (c2 | 0) * a2 + (c3 | 0) * a3 + (c4 | 0) * a4];
  }
  return b[bo + this.thread.x * b0 + this.thread.y * b1 + (c2 | 0) * b2 + (c3 | 0) * b3 + (c4 | 0) * b4];
}

export const planFill = (out: number, size: number, value: number): Launch => ({
  kernel: 'fill', output: [size], args: [float(value)], out,
});

export const planUnary = (op: UnaryOp, x: number, out: number, size: number): Launch => ({
  kernel: 'unary', constants: { OP: UNARY_OPS.indexOf(op) }, output: [size], args: [buf(x)], out,
});

export const planUnaryGrad = (op: DifferentiableUnaryOp, x: number, grad: number, out: number, size: number): Launch => ({
  kernel: 'unaryGrad', constants: { OP: DIFFERENTIABLE_UNARY_OPS.indexOf(op) }, output: [size], args: [buf(x), buf(grad)], out,
});

export function planBinary(op: BinaryOp, a: StridedView<number>, b: StridedView<number>, shape: Shape, out: number): Launch {
  const g = stridedGrid(op, shape, [a, b]);
  return {
    kernel: 'binary', constants: { OP: BINARY_OPS.indexOf(op) }, output: g.output, out,
    args: [buf(a.buffer), buf(b.buffer), ...viewArgs(g.views[0]!), ...viewArgs(g.views[1]!), int(g.unfold[0]), int(g.unfold[1])],
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
      ...viewArgs(g.views[0]!), ...viewArgs(g.views[1]!), ...viewArgs(g.views[2]!), int(g.unfold[0]), int(g.unfold[1]),
    ],
  };
}
