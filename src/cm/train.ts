import { noGrad } from '../autograd/grad-mode';
import type { Module } from '../nn/module';
import { mean } from '../ops/reduce';
import type { AdamW } from '../optim/adamw';
import { emaUpdate } from '../optim/ema';
import { randn, tensor } from '../tensor/create';
import type { Generator } from '../tensor/random';
import { tidy } from '../tensor/scope';
import type { Tensor } from '../tensor/tensor';
import { pseudoHuber, pseudoHuberConstant } from './losses';
import type { ConsistencyFunction } from './parametrization';
import {
  communitySchedule, drawIndex, ectStage, ectTargetLevel, ictDiscretization, karrasSigmas, lognormalIndexProbabilities, SIGMA_MAX, SIGMA_MIN,
} from './schedule';

export type Recipe = 'ict' | 'seed' | 'ect';

export interface CtStepContext {
  recipe: Recipe;
  /** The student's consistency function (gradients flow through it). */
  student: ConsistencyFunction;
  /** The seed recipe's target network (EMA of the student at rate mu); ict uses the student itself. */
  target?: ConsistencyFunction;
  targetModel?: Module;
  model: Module;
  optimizer: AdamW;
  generator: Generator;
  totalSteps: number;
  /** For the seed recipe's per-epoch schedule. */
  epoch: number;
  epochs: number;
  /** ict: the curriculum's cap s1 on the number of intervals (default 1280, as the paper). */
  maxIntervals?: number;
  /** ect: how many stages the run is split into (the gap t - r halves at each; default 6). */
  ectStages?: number;
  /** For networks with dropout: seeds it before each pass, so online and target passes share masks. */
  setDropoutSeed?: (seed: number) => void;
}

export interface StepResult {
  loss: number;
  /** ict, seed: the discretization N; ect: the stage. */
  n: number;
}

/**
 * One consistency-training step on a batch x in [-1, 1] (docs/contracts.md, Consistency models):
 * - ict: N(k) doubling, i drawn from the lognormal-weighted distribution, loss = mean over the
 *   batch of pseudo-Huber(f(x + s_{i+1} z, s_{i+1}), stopgrad f(x + s_i z, s_i)) / (s_{i+1} - s_i).
 * - seed: the community recipe: N and mu per epoch, i uniform, MSE against the EMA target.
 * - ect: easy consistency tuning from scratch: t lognormal (iCT's -1.1, 2), r = ectTargetLevel(t,
 *   stage), loss = pseudo-Huber(f(x + t z, t), stopgrad f(x + r z, r)) / (t - r); stage 0 is
 *   denoising (r = sigma_min, f = identity there), later stages shrink the gap.
 * Same z and the same dropout masks for both points. Updates the optimiser; the caller updates
 * EMA copies for sampling.
 */
export function ctStep(ctx: CtStepContext, x: Tensor, step: number): StepResult {
  return tidy(() => {
    const { loss, n, mu } = ctLoss(ctx, x, step);
    const value = ctx.optimizer.minimize(loss);
    if (ctx.recipe === 'seed' && ctx.targetModel) noGrad(() => emaUpdate(ctx.targetModel!.parameters(), ctx.model.parameters(), mu));
    return { loss: value, n };
  });
}

export const DEFAULT_ECT_STAGES = 6;

/** Per image the two noise levels t > r, the loss weights (null: plain MSE), and N (ect: the stage) and mu. */
interface LevelPairs { hi: number[]; lo: number[]; weights: number[] | null; n: number; mu: number }

function drawLevelPairs(ctx: Omit<CtStepContext, 'optimizer'>, batch: number, step: number): LevelPairs {
  const g = ctx.generator;
  if (ctx.recipe === 'ect') {
    const stage = ectStage(step, ctx.totalSteps, ctx.ectStages ?? DEFAULT_ECT_STAGES);
    const hi = Array.from({ length: batch }, () => Math.min(SIGMA_MAX, Math.max(SIGMA_MIN, Math.exp(-1.1 + 2 * g.normal()))));
    const lo = hi.map((t) => ectTargetLevel(t, stage));
    return { hi, lo, weights: hi.map((t, i) => 1 / Math.max(t - lo[i]!, 1e-6)), n: stage, mu: 0 };
  }
  const { n, mu } = ctx.recipe === 'ict'
    ? { n: ictDiscretization(step, ctx.totalSteps, 10, ctx.maxIntervals ?? 1280), mu: 0 }
    : communitySchedule(ctx.epoch, ctx.epochs);
  const sigmas = karrasSigmas(n);
  let indices: number[];
  if (ctx.recipe === 'ict') {
    const p = lognormalIndexProbabilities(sigmas);
    const cumulative = new Float64Array(p.length);
    p.reduce((acc, v, i) => (cumulative[i] = acc + v), 0);
    indices = Array.from({ length: batch }, () => drawIndex(cumulative, g.uniform()));
  } else {
    indices = Array.from({ length: batch }, () => g.int(n - 1));
  }
  const hi = indices.map((i) => sigmas[i + 1]!), lo = indices.map((i) => sigmas[i]!);
  return { hi, lo, weights: ctx.recipe === 'ict' ? hi.map((s, i) => 1 / (s - lo[i]!)) : null, n, mu };
}

/** The consistency-training loss of ctStep, with its discretization N and target EMA rate mu; no update. */
export function ctLoss(ctx: Omit<CtStepContext, 'optimizer'>, x: Tensor, step: number): { loss: Tensor; n: number; mu: number } {
  const batch = x.shape[0]!;
  const g = ctx.generator;
  const { hi, lo, weights, n, mu } = drawLevelPairs(ctx, batch, step);
  const sHi = tensor(hi), sLo = tensor(lo);
  const z = randn([...x.shape], { generator: g });
  const col = (s: Tensor) => s.reshape([batch, 1, 1, 1]);
  const dropoutSeed = ctx.setDropoutSeed ? g.nextUint32() : 0;
  ctx.setDropoutSeed?.(dropoutSeed);
  const online = ctx.student(x.add(col(sHi).mul(z)), sHi);
  const teacher = ctx.recipe === 'seed' ? ctx.target! : ctx.student;
  ctx.setDropoutSeed?.(dropoutSeed);
  const target = noGrad(() => teacher(x.add(col(sLo).mul(z)), sLo));
  if (!weights) return { loss: mean(online.sub(target).square()), n, mu };
  const [c, h, w] = x.shape.slice(1) as [number, number, number];
  return { loss: mean(pseudoHuber(online, target, pseudoHuberConstant(c, h, w)).mul(tensor(weights))), n, mu };
}
