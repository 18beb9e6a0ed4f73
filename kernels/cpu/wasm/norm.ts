import type { GroupNormGeometry } from '../../../src/backend/backend';
import { ceilTo, split } from './gemm';
import { getRuntime } from './runtime';

/** Group norm forward (norm-module.ts) on all threads, the (image, group) items split between them. */
export function groupNormF32(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array, g: GroupNormGeometry,
): void {
  const rt = getRuntime();
  const { n, c, hw, groups } = g;
  const size = n * c * hw, items = n * groups;
  const xAt = 0, outAt = ceilTo(size, 4), gammaAt = 2 * outAt, betaAt = gammaAt + ceilTo(c, 4), meanAt = betaAt + ceilTo(c, 4), rstdAt = meanAt + ceilTo(items, 4);
  const mem = rt.reserve((rstdAt + items) * 4);
  mem.set(x.subarray(0, size), xAt);
  mem.set(gamma.subarray(0, c), gammaAt);
  mem.set(beta.subarray(0, c), betaAt);
  const epsBits = new Int32Array(Float32Array.of(g.eps).buffer)[0]!;
  rt.parallel('groupNorm', split(items, rt.threads).map(([item0, item1]) => ({
    x: xAt * 4, out: outAt * 4, gamma: gammaAt * 4, beta: betaAt * 4, mean: meanAt * 4, rstd: rstdAt * 4,
    item0, item1, groups, cpg: c / groups, hw, epsBits,
  })));
  out.set(mem.subarray(outAt, outAt + size));
  mean.set(mem.subarray(meanAt, meanAt + items));
  rstd.set(mem.subarray(rstdAt, rstdAt + items));
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
  const gyAt = 0, xAt = ceilTo(size, 4), gxAt = 2 * xAt, gammaAt = 3 * xAt, meanAt = gammaAt + ceilTo(c, 4), rstdAt = meanAt + ceilTo(items, 4);
  const sdyAt = rstdAt + ceilTo(items, 4), sdyxAt = sdyAt + ceilTo(rows, 4);
  const mem = rt.reserve((sdyxAt + rows) * 4);
  mem.set(gy.subarray(0, size), gyAt);
  mem.set(x.subarray(0, size), xAt);
  mem.set(gamma.subarray(0, c), gammaAt);
  mem.set(mean.subarray(0, items), meanAt);
  mem.set(rstd.subarray(0, items), rstdAt);
  rt.parallel('groupNormBackward', split(items, rt.threads).map(([item0, item1]) => ({
    gy: gyAt * 4, x: xAt * 4, gx: gxAt * 4, gamma: gammaAt * 4, mean: meanAt * 4, rstd: rstdAt * 4, sdy: sdyAt * 4, sdyx: sdyxAt * 4,
    item0, item1, groups, cpg: c / groups, hw,
  })));
  gx.set(mem.subarray(gxAt, gxAt + size));
  for (let ch = 0; ch < c; ch++) {
    let dBeta = 0, dGamma = 0;
    for (let b = 0; b < n; b++) {
      dBeta += mem[sdyAt + b * c + ch]!;
      dGamma += mem[sdyxAt + b * c + ch]!;
    }
    gBeta[ch] = dBeta;
    gGamma[ch] = dGamma;
  }
}
