import type { GroupNormGeometry } from '../../src/backend/backend';
import { buf, checkGrid, float, int, type KernelThis, type Launch } from './launch';

// Group norm over x viewed as [n, c, hw]; a group is `count` = (c / groups) * hw contiguous
// elements, statistics per (sample, group) with the biased variance, as kernels/cpu/norm.ts.
// Thread x of a statistics kernel is the group (sample * groups + group).

export function groupMeanKernel(this: KernelThis, x: number[], count: number): number {
  let s = 0;
  for (let i = 0; i < count; i++) s += x[this.thread.x * count + i];
  return s / count;
}

export function groupRstdKernel(this: KernelThis, x: number[], mean: number[], count: number, eps: number): number {
  const mu = mean[this.thread.x];
  let v = 0;
  for (let i = 0; i < count; i++) {
    const d = x[this.thread.x * count + i] - mu;
    v += d * d;
  }
  return 1 / Math.sqrt(v / count + eps);
}

/** Thread (x, y, z) = (position, channel, sample). */
export function groupNormApplyKernel(
  this: KernelThis, x: number[], mean: number[], rstd: number[], gamma: number[], beta: number[],
  hw: number, c: number, groups: number, cpg: number,
): number {
  const group = Math.floor((this.thread.y + 0.5) / cpg);
  const stat = this.thread.z * groups + (group | 0);
  // (x - mean) first: x * scale - mean * scale cancels catastrophically when rstd is large
  return (x[this.thread.x + hw * (this.thread.y + c * this.thread.z)] - mean[stat]) * rstd[stat] * gamma[this.thread.y] + beta[this.thread.y];
}

/** Per group: sum of dy*gamma (WHICH 0) or of dy*gamma*xhat (WHICH 1). */
export function groupGradSumKernel(
  this: KernelThis, gy: number[], x: number[], gamma: number[], mean: number[], rstd: number[], hw: number, cpg: number, groups: number,
): number {
  const mu = mean[this.thread.x];
  const r = rstd[this.thread.x];
  const group = this.thread.x - Math.floor((this.thread.x + 0.5) / groups) * groups;
  let acc = 0;
  for (let ch = 0; ch < cpg; ch++) {
    const gm = gamma[(group | 0) * cpg + ch];
    for (let i = 0; i < hw; i++) {
      const dy = gy[(this.thread.x * cpg + ch) * hw + i] * gm;
      if (this.constants.WHICH === 0) {
        acc += dy;
      } else {
        acc += dy * (x[(this.thread.x * cpg + ch) * hw + i] - mu) * r;
      }
    }
  }
  return acc;
}

/** dx = rstd (dy*gamma - mean(dy*gamma) - xhat mean(dy*gamma*xhat)); thread (x, y, z) = (position, channel, sample). */
export function groupNormGradInputKernel(
  this: KernelThis, gy: number[], x: number[], gamma: number[], mean: number[], rstd: number[], sumDxhat: number[], sumDxhatXhat: number[],
  hw: number, c: number, groups: number, cpg: number,
): number {
  const group = Math.floor((this.thread.y + 0.5) / cpg);
  const stat = this.thread.z * groups + (group | 0);
  const count = cpg * hw;
  const r = rstd[stat];
  const xhat = (x[this.thread.x + hw * (this.thread.y + c * this.thread.z)] - mean[stat]) * r;
  return r * (gy[this.thread.x + hw * (this.thread.y + c * this.thread.z)] * gamma[this.thread.y] - sumDxhat[stat] / count - xhat * (sumDxhatXhat[stat] / count));
}

/** Per channel: sum of dy*xhat (WHICH 0, the gamma gradient) or of dy (WHICH 1, beta). */
export function groupNormGradParamKernel(
  this: KernelThis, gy: number[], x: number[], mean: number[], rstd: number[], n: number, c: number, hw: number, groups: number, cpg: number,
): number {
  const group = Math.floor((this.thread.x + 0.5) / cpg);
  let acc = 0;
  for (let b = 0; b < n; b++) {
    const stat = b * groups + (group | 0);
    const mu = mean[stat];
    const r = rstd[stat];
    for (let i = 0; i < hw; i++) {
      const dy = gy[(b * c + this.thread.x) * hw + i];
      if (this.constants.WHICH === 0) {
        acc += dy * (x[(b * c + this.thread.x) * hw + i] - mu) * r;
      } else {
        acc += dy;
      }
    }
  }
  return acc;
}

export function planGroupNorm(x: number, gamma: number, beta: number, out: number, mean: number, rstd: number, g: GroupNormGeometry): Launch[] {
  checkGrid('groupNorm', [g.hw, g.c, g.n], 'use a smaller batch');
  const cpg = g.c / g.groups, count = cpg * g.hw, stats = g.n * g.groups;
  return [
    { kernel: 'groupMean', output: [stats], out: mean, args: [buf(x), int(count)] },
    { kernel: 'groupRstd', output: [stats], out: rstd, args: [buf(x), buf(mean), int(count), float(g.eps)] },
    {
      kernel: 'groupNormApply', output: [g.hw, g.c, g.n], out,
      args: [buf(x), buf(mean), buf(rstd), buf(gamma), buf(beta), int(g.hw), int(g.c), int(g.groups), int(cpg)],
    },
  ];
}

export function planGroupNormBackward(
  gy: number, x: number, gamma: number, mean: number, rstd: number, gx: number, gGamma: number, gBeta: number,
  g: GroupNormGeometry, temp: (size: number) => number,
): Launch[] {
  checkGrid('groupNorm backward', [g.hw, g.c, g.n], 'use a smaller batch');
  const cpg = g.c / g.groups, stats = g.n * g.groups;
  const sumDxhat = temp(stats), sumDxhatXhat = temp(stats);
  const statArgs = [buf(gy), buf(x), buf(gamma), buf(mean), buf(rstd), int(g.hw), int(cpg), int(g.groups)];
  const paramArgs = [buf(gy), buf(x), buf(mean), buf(rstd), int(g.n), int(g.c), int(g.hw), int(g.groups), int(cpg)];
  return [
    { kernel: 'groupGradSum', constants: { WHICH: 0 }, output: [stats], out: sumDxhat, args: statArgs },
    { kernel: 'groupGradSum', constants: { WHICH: 1 }, output: [stats], out: sumDxhatXhat, args: statArgs },
    {
      kernel: 'groupNormGradInput', output: [g.hw, g.c, g.n], out: gx,
      args: [buf(gy), buf(x), buf(gamma), buf(mean), buf(rstd), buf(sumDxhat), buf(sumDxhatXhat), int(g.hw), int(g.c), int(g.groups), int(cpg)],
    },
    { kernel: 'groupNormGradParam', constants: { WHICH: 0 }, output: [g.c], out: gGamma, args: paramArgs },
    { kernel: 'groupNormGradParam', constants: { WHICH: 1 }, output: [g.c], out: gBeta, args: paramArgs },
  ];
}
