import type { AdamWHyper, TypedArray } from '../../src/backend/backend';
import { adamwScalars } from '../../src/backend/adamw-scalars';

// AdamW and the EMA update in one pass each. float32 buffers round after every operation, as the
// same formula composed of separate float32 ops would (and as the gpu.js kernels do).

/** Writes p', m', v' into outP, outM, outV (which may be the inputs themselves). */
export function adamwInto(
  p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, outP: TypedArray, outM: TypedArray, outV: TypedArray, h: AdamWHyper,
): void {
  if (p instanceof Float32Array) return adamwF32(p, g as Float32Array, m as Float32Array, v as Float32Array, outP as Float32Array, outM as Float32Array, outV as Float32Array, h);
  const r = (x: number): number => x;
  const s = adamwScalars(h, r);
  for (let i = 0; i < p.length; i++) {
    const gi = r(g[i]! * s.scale);
    const m1 = r(r(m[i]! * s.b1) + r(gi * s.ob1));
    const v1 = r(r(v[i]! * s.b2) + r(r(gi * gi) * s.ob2));
    const denom = r(r(Math.sqrt(r(v1 * s.invC2))) + s.eps);
    outP[i] = r(p[i]! * s.decay) - r(r(m1 * s.stepSize) / denom);
    outM[i] = m1;
    outV[i] = v1;
  }
}

/** adamwInto on float32 buffers: one monomorphic loop, Math.fround after every operation. */
function adamwF32(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, outP: Float32Array, outM: Float32Array, outV: Float32Array, h: AdamWHyper,
): void {
  const f = Math.fround;
  const { scale, b1, ob1, b2, ob2, invC2, eps, stepSize, decay } = adamwScalars(h);
  for (let i = 0; i < p.length; i++) {
    const gi = f(g[i]! * scale);
    const m1 = f(f(m[i]! * b1) + f(gi * ob1));
    const v1 = f(f(v[i]! * b2) + f(f(gi * gi) * ob2));
    const denom = f(f(Math.sqrt(f(v1 * invC2))) + eps);
    outP[i] = f(p[i]! * decay) - f(f(m1 * stepSize) / denom);
    outM[i] = m1;
    outV[i] = v1;
  }
}

export function axpby(x: TypedArray, y: TypedArray, alpha: number, beta: number, out: TypedArray): void {
  if (out instanceof Float32Array) return axpbyF32(x as Float32Array, y as Float32Array, alpha, beta, out);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! * alpha + y[i]! * beta;
}

function axpbyF32(x: Float32Array, y: Float32Array, alpha: number, beta: number, out: Float32Array): void {
  const f = Math.fround;
  const a = f(alpha), b = f(beta);
  for (let i = 0; i < out.length; i++) out[i] = f(x[i]! * a) + f(y[i]! * b);
}
