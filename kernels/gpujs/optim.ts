import type { AdamWHyper } from '../../src/backend/backend';
import { adamwScalars } from '../../src/backend/adamw-scalars';
import { buf, float, int, type KernelThis, type Launch } from './launch';

// The optimiser's elementwise passes. A gpu.js kernel writes one buffer, so AdamW writes the
// parameter, the first and the second moment as three sections of one buffer, each starting at a
// multiple of ADAMW_SECTION_ALIGN elements (256 bytes, WebGPU's storage-binding offset alignment),
// and the backend hands the sections out as views. Formulas and rounding order as kernels/cpu/optim.ts.

const ADAMW_SECTION_ALIGN = 64;
export const adamwSection = (size: number): number => Math.ceil(size / ADAMW_SECTION_ALIGN) * ADAMW_SECTION_ALIGN;

/**
 * Thread i: section 0 the parameter p', 1 the first moment m', 2 the second moment v'. Indices
 * stay inline i32 (thread.x and Integer arguments; see launch.ts), exact past 2^24 elements.
 */
export function adamwKernel(
  this: KernelThis, p: number[], g: number[], m: number[], v: number[], n: number, section: number,
  scale: number, b1: number, ob1: number, b2: number, ob2: number, invC2: number, eps: number, stepSize: number, decay: number,
): number {
  if (this.thread.x >= section + section) {
    if (this.thread.x - section - section >= n) return 0;
    const g2 = g[this.thread.x - section - section] * scale;
    return v[this.thread.x - section - section] * b2 + g2 * g2 * ob2;
  }
  if (this.thread.x >= section) {
    if (this.thread.x - section >= n) return 0;
    return m[this.thread.x - section] * b1 + g[this.thread.x - section] * scale * ob1;
  }
  if (this.thread.x >= n) return 0;
  const gi = g[this.thread.x] * scale;
  const m1 = m[this.thread.x] * b1 + gi * ob1;
  const v1 = v[this.thread.x] * b2 + gi * gi * ob2;
  return p[this.thread.x] * decay - (m1 * stepSize) / (Math.sqrt(v1 * invC2) + eps);
}

/** out = alpha x + beta y. */
export function axpbyKernel(this: KernelThis, x: number[], y: number[], alpha: number, beta: number): number {
  return x[this.thread.x] * alpha + y[this.thread.x] * beta;
}

/** One launch writing [p' | m' | v'] into `out` (3 adamwSection(size) elements). */
export function planAdamw(p: number, g: number, m: number, v: number, out: number, size: number, h: AdamWHyper): Launch {
  const s = adamwScalars(h);
  const section = adamwSection(size);
  return {
    kernel: 'adamw', output: [3 * section], out,
    args: [buf(p), buf(g), buf(m), buf(v), int(size), int(section), ...[s.scale, s.b1, s.ob1, s.b2, s.ob2, s.invC2, s.eps, s.stepSize, s.decay].map(float)],
  };
}

export const planAxpby = (x: number, y: number, alpha: number, beta: number, out: number, size: number): Launch => ({
  kernel: 'axpby', output: [size], args: [buf(x), buf(y), float(alpha), float(beta)], out,
});
