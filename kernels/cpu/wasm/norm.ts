import type { GroupNormGeometry } from '../../../src/backend/backend';
import { f32Bits, split } from './ranges';
import { getRuntime } from './runtime';

/** Group norm forward (norm-module.ts), then SiLU when g.silu, on all threads, the (image, group) items split between them. */
export function groupNormF32(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array, g: GroupNormGeometry,
): void {
  const rt = getRuntime();
  const { n, c, hw, groups } = g;
  const size = n * c * hw, items = n * groups;
  const epsBits = f32Bits(g.eps);
  rt.frame((f) => {
    const xAt = f.input(x, 0, size), gammaAt = f.input(gamma, 0, c), betaAt = f.input(beta, 0, c);
    const outAt = f.output(out, 0, size), meanAt = f.output(mean, 0, items), rstdAt = f.output(rstd, 0, items);
    rt.parallel('groupNorm', split(items, rt.threads).map(([item0, item1]) => ({
      x: xAt * 4, out: outAt * 4, gamma: gammaAt * 4, beta: betaAt * 4, mean: meanAt * 4, rstd: rstdAt * 4,
      item0, item1, groups, cpg: c / groups, hw, epsBits, silu: g.silu ? 1 : 0,
    })));
  });
}

/**
 * Group norm backward (norm-module.ts) on all threads, the (image, group) items split between them;
 * dgamma and dbeta are the per-(image, channel) sums the kernel writes, added over the images here.
 */
export function groupNormBackwardF32(
  gy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array,
  gx: Float32Array, gGamma: Float32Array, gBeta: Float32Array, g: GroupNormGeometry,
): void {
  const rt = getRuntime();
  const { n, c, hw, groups } = g;
  const size = n * c * hw, items = n * groups, rows = n * c;
  rt.frame((f) => {
    const gyAt = f.input(gy, 0, size), xAt = f.input(x, 0, size), gammaAt = f.input(gamma, 0, c);
    const meanAt = f.input(mean, 0, items), rstdAt = f.input(rstd, 0, items);
    const gxAt = f.output(gx, 0, size), sdyAt = f.scratch(rows), sdyxAt = f.scratch(rows);
    rt.parallel('groupNormBackward', split(items, rt.threads).map(([item0, item1]) => ({
      gy: gyAt * 4, x: xAt * 4, gx: gxAt * 4, gamma: gammaAt * 4, mean: meanAt * 4, rstd: rstdAt * 4, sdy: sdyAt * 4, sdyx: sdyxAt * 4,
      item0, item1, groups, cpg: c / groups, hw,
    })));
    const mem = f.mem;
    for (let ch = 0; ch < c; ch++) {
      let dBeta = 0, dGamma = 0;
      for (let b = 0; b < n; b++) {
        dBeta += mem[sdyAt + b * c + ch]!;
        dGamma += mem[sdyxAt + b * c + ch]!;
      }
      gBeta[ch] = dBeta;
      gGamma[ch] = dGamma;
    }
  });
}

/**
 * d = dy silu'(y), y the group norm's output before its SiLU recomputed from x and the forward's
 * float32 mean and rstd (norm-module.ts): the forward's y to a rounding (it scaled by the float64 rstd).
 */
export function groupNormSiluGradF32(
  gy: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, mean: Float32Array, rstd: Float32Array, d: Float32Array, g: GroupNormGeometry,
): void {
  const rt = getRuntime();
  const { n, c, hw, groups } = g;
  const size = n * c * hw, items = n * groups;
  rt.frame((f) => {
    const gyAt = f.input(gy, 0, size), xAt = f.input(x, 0, size), gammaAt = f.input(gamma, 0, c), betaAt = f.input(beta, 0, c);
    const meanAt = f.input(mean, 0, items), rstdAt = f.input(rstd, 0, items), dAt = f.output(d, 0, size);
    rt.parallel('groupNormSiluGrad', split(items, rt.threads).map(([item0, item1]) => ({
      gy: gyAt * 4, x: xAt * 4, gamma: gammaAt * 4, beta: betaAt * 4, mean: meanAt * 4, rstd: rstdAt * 4, d: dAt * 4,
      item0, item1, groups, cpg: c / groups, hw,
    })));
  });
}
