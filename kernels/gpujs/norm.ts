import type { GroupNormGeometry } from '../../src/backend/backend';
import { SIGMOID_OF_V } from './elementwise';
import { buf, checkGrid, float, int, kernelText, type KernelThis, type Launch } from './launch';

// Group norm over x viewed as [n, c, hw]; a group is `count` = (c / groups) * hw contiguous
// elements, statistics per (sample, group) with the biased variance, as kernels/cpu/norm.ts.
// Thread x of a statistics kernel is the group (sample * groups + group).

/** Thread i < items: the mean of group i; thread items + i: its reciprocal standard deviation. */
export function groupStatsKernel(this: KernelThis, x: number[], count: number, items: number, eps: number): number {
  const second = this.thread.x >= items ? 1 : 0;
  const group = this.thread.x - second * items;
  let s = 0;
  for (let i = 0; i < count; i++) s += x[group * count + i];
  const mu = s / count;
  if (second === 0) return mu;
  let v = 0;
  for (let j = 0; j < count; j++) {
    const d = x[group * count + j] - mu;
    v += d * d;
  }
  return 1 / Math.sqrt(v / count + eps);
}

/** Thread (x, y, z) = (position, channel, sample). */
export function groupNormApplyKernel(
  this: KernelThis, x: number[], stats: number[], gamma: number[], beta: number[],
  hw: number, c: number, groups: number, cpg: number, items: number,
): number {
  const group = Math.floor((this.thread.y + 0.5) / cpg);
  const stat = this.thread.z * groups + (group | 0);
  // (x - mean) first: x * scale - mean * scale cancels catastrophically when rstd is large
  const y = (x[this.thread.x + hw * (this.thread.y + c * this.thread.z)] - stats[stat]) * stats[items + stat] * gamma[this.thread.y] + beta[this.thread.y];
  if (this.constants.SILU === 1) {
    if (y >= 0) return y / (1 + Math.exp(-y));
    return (y * Math.exp(y)) / (1 + Math.exp(y));
  }
  return y;
}

// The backward kernels, assembled as text (gpu.js parses it like a function's source) so that the
// incoming gradient is read one way in all three: dy = gy, or with SILU gy * silu'(v), where v, the
// group norm's output before the SiLU, is recomputed from x and the statistics.
const dyAt = (gammaAt: string, betaAt: string): string =>
  `let dy = gy[at]; if (this.constants.SILU === 1) { const v = xhat * ${gammaAt} + ${betaAt}; ${SIGMOID_OF_V} dy = dy * s * (1 + v * (1 - s)); }`;

/** Thread i < items: the sum over group i of dy*gamma; items + i: of dy*gamma*xhat. */
export const GROUP_GRAD_SUM_SOURCE = kernelText('gy, x, gamma, beta, stats, hw, cpg, groups, items', `
  const second = this.thread.x >= items ? 1 : 0;
  const item = this.thread.x - second * items;
  const mu = stats[item];
  const r = stats[items + item];
  const group = item - Math.floor((item + 0.5) / groups) * groups;
  let acc = 0;
  for (let ch = 0; ch < cpg; ch++) {
    const channel = (group | 0) * cpg + ch;
    const gm = gamma[channel];
    for (let i = 0; i < hw; i++) {
      const at = (item * cpg + ch) * hw + i;
      const xhat = (x[at] - mu) * r;
      ${dyAt('gm', 'beta[channel]')}
      if (second === 0) { acc += dy * gm; } else { acc += dy * gm * xhat; }
    }
  }
  return acc;`);

/** dx = rstd (dy*gamma - mean(dy*gamma) - xhat mean(dy*gamma*xhat)); thread (x, y, z) = (position, channel, sample). */
export const GROUP_NORM_GRAD_INPUT_SOURCE = kernelText('gy, x, gamma, beta, stats, sums, hw, c, groups, cpg, items', `
  const group = Math.floor((this.thread.y + 0.5) / cpg);
  const stat = this.thread.z * groups + (group | 0);
  const count = cpg * hw;
  const r = stats[items + stat];
  const at = this.thread.x + hw * (this.thread.y + c * this.thread.z);
  const xhat = (x[at] - stats[stat]) * r;
  ${dyAt('gamma[this.thread.y]', 'beta[this.thread.y]')}
  return r * (dy * gamma[this.thread.y] - sums[stat] / count - xhat * (sums[items + stat] / count));`);

/** Per channel: sum of dy*xhat (WHICH 0, the gamma gradient) or of dy (WHICH 1, beta). */
export const GROUP_NORM_GRAD_PARAM_SOURCE = kernelText('gy, x, gamma, beta, stats, n, c, hw, groups, cpg, items', `
  const group = Math.floor((this.thread.x + 0.5) / cpg);
  let acc = 0;
  for (let b = 0; b < n; b++) {
    const stat = b * groups + (group | 0);
    const mu = stats[stat];
    const r = stats[items + stat];
    for (let i = 0; i < hw; i++) {
      const at = (b * c + this.thread.x) * hw + i;
      const xhat = (x[at] - mu) * r;
      ${dyAt('gamma[this.thread.x]', 'beta[this.thread.x]')}
      if (this.constants.WHICH === 0) { acc += dy * xhat; } else { acc += dy; }
    }
  }
  return acc;`);

export function planGroupNorm(x: number, gamma: number, beta: number, out: number, stats: number, g: GroupNormGeometry): Launch[] {
  checkGrid('groupNorm', [g.hw, g.c, g.n], 'use a smaller batch');
  const cpg = g.c / g.groups, count = cpg * g.hw, items = g.n * g.groups;
  return [
    { kernel: 'groupStats', output: [2 * items], out: stats, args: [buf(x), int(count), int(items), float(g.eps)] },
    {
      kernel: 'groupNormApply', constants: { SILU: g.silu ? 1 : 0 }, output: [g.hw, g.c, g.n], out,
      args: [buf(x), buf(stats), buf(gamma), buf(beta), int(g.hw), int(g.c), int(g.groups), int(cpg), int(items)],
    },
  ];
}

export function planGroupNormBackward(
  gy: number, x: number, gamma: number, beta: number, stats: number, gx: number, gGamma: number, gBeta: number,
  g: GroupNormGeometry, temp: (size: number) => number,
): Launch[] {
  checkGrid('groupNorm backward', [g.hw, g.c, g.n], 'use a smaller batch');
  const cpg = g.c / g.groups, items = g.n * g.groups;
  const SILU = g.silu ? 1 : 0;
  const sums = temp(2 * items);
  const paramArgs = [buf(gy), buf(x), buf(gamma), buf(beta), buf(stats), int(g.n), int(g.c), int(g.hw), int(g.groups), int(cpg), int(items)];
  return [
    {
      kernel: 'groupGradSum', constants: { SILU }, output: [2 * items], out: sums,
      args: [buf(gy), buf(x), buf(gamma), buf(beta), buf(stats), int(g.hw), int(cpg), int(g.groups), int(items)],
    },
    {
      kernel: 'groupNormGradInput', constants: { SILU }, output: [g.hw, g.c, g.n], out: gx,
      args: [buf(gy), buf(x), buf(gamma), buf(beta), buf(stats), buf(sums), int(g.hw), int(g.c), int(g.groups), int(cpg), int(items)],
    },
    { kernel: 'groupNormGradParam', constants: { WHICH: 0, SILU }, output: [g.c], out: gGamma, args: paramArgs },
    { kernel: 'groupNormGradParam', constants: { WHICH: 1, SILU }, output: [g.c], out: gBeta, args: paramArgs },
  ];
}
