import type { FunctionBody } from './builder';
import { kernel, type Params } from './kernel-def';

// SiLU and its gradient over f32x4 lanes. exp by range reduction: v = n ln2 + r with
// n = round(v / ln2) (rounded by adding and subtracting 1.5 * 2^23), |r| <= ln2 / 2, then
// exp(r) by its Taylor series to degree 7 (truncation < 5e-9 relative, under float32 rounding)
// and 2^n built in the exponent bits. Inputs are clamped to [-87, 87] so 2^n stays a normal float.

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375; // 355 / 512: exact, so n * LN2_HI has no rounding error for |n| < 2^14
const LN2_LO = Math.LN2 - LN2_HI;
const ROUND = 12582912; // 1.5 * 2^23
const TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];

export interface ExpConstants {
  log2e: number; ln2hi: number; ln2lo: number; round: number; lo: number; hi: number; one: number;
  bias: number; coef: number[];
}

/** Emits (at the start of a body) the locals emitExp reads. */
export function expConstants(f: FunctionBody): ExpConstants {
  const splat = (v: number) => { const l = f.local('v128'); f.f32(v).f32x4Splat().set(l); return l; };
  const bias = f.local('v128');
  f.i32(127 << 23).i32x4Splat().set(bias);
  return {
    log2e: splat(LOG2E), ln2hi: splat(LN2_HI), ln2lo: splat(LN2_LO), round: splat(ROUND),
    lo: splat(-87), hi: splat(87), one: splat(1), bias, coef: TAYLOR.map(splat),
  };
}

/** Leaves exp(local v) in local out (v is clamped in place); t, r are scratch v128 locals. */
export function emitExp(f: FunctionBody, c: ExpConstants, v: number, out: number, t: number, r: number): void {
  f.get(v).get(c.lo).f32x4Max().get(c.hi).f32x4Min().set(v);
  // t = v log2e + ROUND: n sits in t's low mantissa bits; nf = t - ROUND is n as a float
  f.get(v).get(c.log2e).f32x4Mul().get(c.round).f32x4Add().set(t);
  f.get(t).get(c.round).f32x4Sub().set(r); // r = nf for now
  f.get(v).get(r).get(c.ln2hi).f32x4Mul().f32x4Sub().get(r).get(c.ln2lo).f32x4Mul().f32x4Sub().set(r);
  // Horner: p = c7 r + c6, p = p r + c5, ..., p = p r + c0
  f.get(c.coef[7]!);
  for (let k = 6; k >= 0; k--) f.get(r).f32x4Mul().get(c.coef[k]!).f32x4Add();
  f.set(out);
  // 2^n: (bits(t) << 23) is n << 23 (the rest shifts out); add the exponent bias
  f.get(t).i32(23).i32x4Shl().get(c.bias).i32x4Add();
  f.get(out).f32x4Mul().set(out);
}

/** v128 scratch locals the SiLU helpers need. */
export interface SiluScratch { v: number; e: number; t: number; r: number; s: number }

export function siluScratch(f: FunctionBody): SiluScratch {
  return { v: f.local('v128'), e: f.local('v128'), t: f.local('v128'), r: f.local('v128'), s: f.local('v128') };
}

/** Leaves silu(local x) = x / (1 + exp(-x)) on the stack. */
export function emitSiluOf(f: FunctionBody, c: ExpConstants, x: number, k: SiluScratch): void {
  f.f32(0).f32x4Splat().get(x).f32x4Sub().set(k.v);
  emitExp(f, c, k.v, k.e, k.t, k.r);
  f.get(x).get(c.one).get(k.e).f32x4Add().f32x4Div();
}

/** Leaves grad silu'(x) = grad s (1 + x (1 - s)), s = 1 / (1 + exp(-x)), on the stack; `grad` pushes the gradient. */
export function emitSiluGradOf(f: FunctionBody, c: ExpConstants, x: number, grad: () => void, k: SiluScratch): void {
  f.f32(0).f32x4Splat().get(x).f32x4Sub().set(k.v);
  emitExp(f, c, k.v, k.e, k.t, k.r);
  f.get(c.one).get(c.one).get(k.e).f32x4Add().f32x4Div().set(k.s);
  grad();
  f.get(k.s).f32x4Mul();
  f.get(c.one).get(x).get(c.one).get(k.s).f32x4Sub().f32x4Mul().f32x4Add();
  f.f32x4Mul();
}

const SILU_PARAMS = ['src', 'dst', 'begin', 'end'] as const;
const SILU_GRAD_PARAMS = ['src', 'grad', 'dst', 'begin', 'end'] as const;

export const SILU = kernel('silu', SILU_PARAMS, emitSilu);
export const SILU_GRAD = kernel('siluGrad', SILU_GRAD_PARAMS, emitSiluGrad);

/** silu(src, dst, begin, end): dst = x / (1 + exp(-x)) for byte offsets [begin, end) (16-byte steps). */
function emitSilu(f: FunctionBody, p: Params<(typeof SILU_PARAMS)[number]>): void {
  const { src, dst, begin, end } = p;
  const c = expConstants(f), k = siluScratch(f);
  const i = f.local('i32'), x = f.local('v128');
  f.forRange(i, () => f.get(begin), end, 16, () => {
    f.get(src).get(i).i32Add().v128Load().set(x);
    f.get(dst).get(i).i32Add();
    emitSiluOf(f, c, x, k);
    f.v128Store();
  });
}

/** siluGrad(src, grad, dst, begin, end): dst = grad s (1 + x (1 - s)), s = 1 / (1 + exp(-x)). */
function emitSiluGrad(f: FunctionBody, p: Params<(typeof SILU_GRAD_PARAMS)[number]>): void {
  const { src, grad, dst, begin, end } = p;
  const c = expConstants(f), k = siluScratch(f);
  const i = f.local('i32'), x = f.local('v128');
  f.forRange(i, () => f.get(begin), end, 16, () => {
    f.get(src).get(i).i32Add().v128Load().set(x);
    f.get(dst).get(i).i32Add();
    emitSiluGradOf(f, c, x, () => f.get(grad).get(i).i32Add().v128Load(), k);
    f.v128Store();
  });
}
