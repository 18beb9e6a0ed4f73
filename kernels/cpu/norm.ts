import type { GroupNormGeometry, TypedArray } from '../../src/backend/backend';
import { unary, unaryGrad } from './elementwise';

// Group norm over [n, c, hw] with `groups` groups of c/groups channels each; statistics per
// (sample, group), biased variance, as PyTorch's F.group_norm.

/** The Backend's groupNorm: statistics into stats = [means, rstds], silu after when g.silu. */
export function groupNorm(x: TypedArray, gamma: TypedArray, beta: TypedArray, out: TypedArray, stats: TypedArray, g: GroupNormGeometry): void {
  const items = g.n * g.groups;
  groupNormInto(x, gamma, beta, out, stats.subarray(0, items), stats.subarray(items, 2 * items), g);
  if (g.silu) unary('silu', out, out);
}

/**
 * The Backend's groupNormBackward: with g.silu, the incoming gradient first goes through silu' of
 * the output before the SiLU, recomputed from x and the statistics.
 */
export function groupNormBackward(
  gy: TypedArray, x: TypedArray, gamma: TypedArray, beta: TypedArray, stats: TypedArray,
  gx: TypedArray, gGamma: TypedArray, gBeta: TypedArray, g: GroupNormGeometry,
): void {
  const items = g.n * g.groups;
  const mean = stats.subarray(0, items), rstd = stats.subarray(items, 2 * items);
  let d = gy;
  if (g.silu) {
    const y = x.slice(), again = stats.slice();
    groupNormInto(x, gamma, beta, y, again.subarray(0, items), again.subarray(items), g);
    d = gy.slice();
    unaryGrad('silu', y, gy, d);
  }
  groupNormBackwardInto(d, x, gamma, mean, rstd, gx, gGamma, gBeta, g);
}

export function groupNormInto(
  x: TypedArray, gamma: TypedArray, beta: TypedArray, out: TypedArray, mean: TypedArray, rstd: TypedArray,
  g: GroupNormGeometry,
): void {
  const { n, c, hw, groups, eps } = g;
  const cpg = c / groups;
  const count = cpg * hw;
  for (let b = 0; b < n; b++) {
    for (let gr = 0; gr < groups; gr++) {
      const start = (b * c + gr * cpg) * hw;
      let s = 0;
      for (let i = 0; i < count; i++) s += x[start + i]!;
      const mu = s / count;
      let v = 0;
      for (let i = 0; i < count; i++) {
        const d = x[start + i]! - mu;
        v += d * d;
      }
      const r = 1 / Math.sqrt(v / count + eps);
      mean[b * groups + gr] = mu;
      rstd[b * groups + gr] = r;
      for (let ch = 0; ch < cpg; ch++) {
        const channel = gr * cpg + ch;
        const scale = r * gamma[channel]!;
        const shift = beta[channel]! - mu * scale;
        const base = start + ch * hw;
        for (let i = 0; i < hw; i++) out[base + i] = x[base + i]! * scale + shift;
      }
    }
  }
}

// With xhat = (x - mean) * rstd and dxhat = dy * gamma:
// dx = rstd * (dxhat - mean_group(dxhat) - xhat * mean_group(dxhat * xhat)),
// dgamma[c] = sum dy * xhat, dbeta[c] = sum dy (over samples and positions).
export function groupNormBackwardInto(
  gy: TypedArray, x: TypedArray, gamma: TypedArray, mean: TypedArray, rstd: TypedArray,
  gx: TypedArray, gGamma: TypedArray, gBeta: TypedArray, g: GroupNormGeometry,
): void {
  const { n, c, hw, groups } = g;
  const cpg = c / groups;
  const count = cpg * hw;
  const dGamma = new Float64Array(c);
  const dBeta = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    for (let gr = 0; gr < groups; gr++) {
      const mu = mean[b * groups + gr]!, r = rstd[b * groups + gr]!;
      const start = (b * c + gr * cpg) * hw;
      let sumDxhat = 0, sumDxhatXhat = 0;
      for (let ch = 0; ch < cpg; ch++) {
        const channel = gr * cpg + ch;
        const gm = gamma[channel]!;
        const base = start + ch * hw;
        let sdy = 0, sdyx = 0;
        for (let i = 0; i < hw; i++) {
          const dy = gy[base + i]!;
          const xhat = (x[base + i]! - mu) * r;
          sdy += dy;
          sdyx += dy * xhat;
        }
        dBeta[channel]! += sdy;
        dGamma[channel]! += sdyx;
        sumDxhat += sdy * gm;
        sumDxhatXhat += sdyx * gm;
      }
      const meanDxhat = sumDxhat / count, meanDxhatXhat = sumDxhatXhat / count;
      for (let ch = 0; ch < cpg; ch++) {
        const gm = gamma[gr * cpg + ch]!;
        const base = start + ch * hw;
        for (let i = 0; i < hw; i++) {
          const xhat = (x[base + i]! - mu) * r;
          gx[base + i] = r * (gy[base + i]! * gm - meanDxhat - xhat * meanDxhatXhat);
        }
      }
    }
  }
  gGamma.set(dGamma);
  gBeta.set(dBeta);
}
