import type { AdamWHyper, TypedArray } from '../../src/backend/backend';
import { adamwScalars } from '../../src/backend/adamw-scalars';

// AdamW and the EMA update in one pass each. float32 buffers round after every operation, as the
// same formula composed of separate float32 ops would (and as the gpu.js kernels do).

/** Writes p', m', v' into outP, outM, outV (which may be the inputs themselves). */
export function adamwInto(
  p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, outP: TypedArray, outM: TypedArray, outV: TypedArray, h: AdamWHyper,
): void {
  const r = p instanceof Float32Array ? Math.fround : (x: number) => x;
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

export function axpby(x: TypedArray, y: TypedArray, alpha: number, beta: number, out: TypedArray): void {
  const r = out instanceof Float32Array ? Math.fround : (v: number) => v;
  const a = r(alpha), b = r(beta);
  for (let i = 0; i < out.length; i++) out[i] = r(x[i]! * a) + r(y[i]! * b);
}
