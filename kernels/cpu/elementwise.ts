import type { BinaryOp, DifferentiableUnaryOp, DType, Shape, StridedView, TypedArray, UnaryOp } from '../../src/backend/backend';
import { contiguousStrides } from '../../src/backend/strides';
import { forEachRow } from './strided';

type UnaryRow = (out: TypedArray, x: TypedArray, n: number) => void;

const sigmoid = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

const UNARY: Record<UnaryOp, UnaryRow> = {
  neg: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = -x[i]!; },
  exp: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.exp(x[i]!); },
  log: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.log(x[i]!); },
  sin: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.sin(x[i]!); },
  cos: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.cos(x[i]!); },
  sqrt: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.sqrt(x[i]!); },
  tanh: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i]!); },
  sigmoid: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = sigmoid(x[i]!); },
  relu: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = x[i]! > 0 ? x[i]! : 0; },
  abs: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = Math.abs(x[i]!); },
  sign: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = x[i]! > 0 ? 1 : x[i]! < 0 ? -1 : 0; },
  silu: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = x[i]! * sigmoid(x[i]!); },
  reciprocal: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = 1 / x[i]!; },
  square: (o, x, n) => { for (let i = 0; i < n; i++) o[i] = x[i]! * x[i]!; },
};

type UnaryGradRow = (out: TypedArray, x: TypedArray, g: TypedArray, n: number) => void;

// Derivatives: sin' = cos, cos' = -sin, tanh' = 1 - tanh^2, sigmoid' = s (1 - s),
// silu' = s (1 + x (1 - s)), relu' = [x > 0], abs' = sign(x).
const UNARY_GRAD: Record<DifferentiableUnaryOp, UnaryGradRow> = {
  sin: (o, x, g, n) => { for (let i = 0; i < n; i++) o[i] = g[i]! * Math.cos(x[i]!); },
  cos: (o, x, g, n) => { for (let i = 0; i < n; i++) o[i] = -g[i]! * Math.sin(x[i]!); },
  tanh: (o, x, g, n) => { for (let i = 0; i < n; i++) { const t = Math.tanh(x[i]!); o[i] = g[i]! * (1 - t * t); } },
  sigmoid: (o, x, g, n) => { for (let i = 0; i < n; i++) { const s = sigmoid(x[i]!); o[i] = g[i]! * s * (1 - s); } },
  silu: (o, x, g, n) => { for (let i = 0; i < n; i++) { const v = x[i]!, s = sigmoid(v); o[i] = g[i]! * s * (1 + v * (1 - s)); } },
  relu: (o, x, g, n) => { for (let i = 0; i < n; i++) o[i] = x[i]! > 0 ? g[i]! : 0; },
  abs: (o, x, g, n) => { for (let i = 0; i < n; i++) o[i] = x[i]! > 0 ? g[i]! : x[i]! < 0 ? -g[i]! : 0; },
};

export function unaryGrad(op: DifferentiableUnaryOp, x: TypedArray, grad: TypedArray, out: TypedArray): void {
  UNARY_GRAD[op](out, x, grad, out.length);
}

type BinaryRow = (
  o: TypedArray, oi: number, a: TypedArray, ai: number, as: number, b: TypedArray, bi: number, bs: number, n: number,
) => void;

const BINARY: Record<BinaryOp, BinaryRow> = {
  add: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! + b[bi]!; },
  sub: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! - b[bi]!; },
  mul: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! * b[bi]!; },
  div: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! / b[bi]!; },
  pow: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = Math.pow(a[ai]!, b[bi]!); },
  maximum: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = Math.max(a[ai]!, b[bi]!); },
  minimum: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = Math.min(a[ai]!, b[bi]!); },
  lt: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! < b[bi]! ? 1 : 0; },
  le: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! <= b[bi]! ? 1 : 0; },
  gt: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! > b[bi]! ? 1 : 0; },
  ge: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! >= b[bi]! ? 1 : 0; },
  eq: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! === b[bi]! ? 1 : 0; },
  ne: (o, oi, a, ai, as, b, bi, bs, n) => { for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! !== b[bi]! ? 1 : 0; },
};

export function unary(op: UnaryOp, x: TypedArray, out: TypedArray): void {
  UNARY[op](out, x, out.length);
}


export function binary(
  op: BinaryOp, a: StridedView<TypedArray>, b: StridedView<TypedArray>, outShape: Shape, out: TypedArray,
): void {
  const row = BINARY[op];
  forEachRow(outShape, [contiguousStrides(outShape), a.strides, b.strides], [0, a.offset, b.offset], (offs, n, inner) => {
    row(out, offs[0]!, a.buffer, offs[1]!, inner[1]!, b.buffer, offs[2]!, inner[2]!, n);
  });
}

export function where(
  cond: StridedView<TypedArray>, a: StridedView<TypedArray>, b: StridedView<TypedArray>, outShape: Shape, out: TypedArray,
): void {
  const c = cond.buffer, av = a.buffer, bv = b.buffer;
  forEachRow(
    outShape,
    [contiguousStrides(outShape), cond.strides, a.strides, b.strides],
    [0, cond.offset, a.offset, b.offset],
    (offs, n, inner) => {
      let oi = offs[0]!, ci = offs[1]!, ai = offs[2]!, bi = offs[3]!;
      const cs = inner[1]!, as = inner[2]!, bs = inner[3]!;
      for (let j = 0; j < n; j++, ci += cs, ai += as, bi += bs) out[oi++] = c[ci] !== 0 ? av[ai]! : bv[bi]!;
    },
  );
}

export function fill(out: TypedArray, value: number): void {
  out.fill(value);
}

export function cast(x: TypedArray, dtype: DType): TypedArray {
  return dtype === 'float32' ? Float32Array.from(x) : Float64Array.from(x);
}

