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

/** Per image the two noise levels t > r, the loss weights (null: plain MSE), N (or a stage) and the target's EMA rate mu. */
export interface LevelPairs {
  hi: number[];
  lo: number[];
  /** Per-image weights of a pseudo-Huber loss; null: the mean squared error. */
  weights: number[] | null;
  /** What the progress shows: the discretization N, or a stage. */
  n: number;
  /** The target network's EMA rate at this step (0 without a target network). */
  mu: number;
}

/** How a consistency-training recipe draws a batch's pairs of noise levels at a step (src/cm/recipes: ict, ect, seed). */
export type LevelSampler = (generator: Generator, batch: number, step: number) => LevelPairs;

export interface CtStepContext {
  /** The recipe's pairs of noise levels (ictLevels, ectLevels, seedLevels). */
  levels: LevelSampler;
  /** The student's consistency function (gradients flow through it). */
  student: ConsistencyFunction;
  /** A target network's f (the seed recipe: an EMA of the student at rate mu); absent: the student under stopgrad. */
  target?: ConsistencyFunction;
  /** The target network's module, updated towards the model at rate mu after each step. */
  targetModel?: Module;
  model: Module;
  optimizer: AdamW;
  generator: Generator;
  /** For networks with dropout: seeds it before each pass, so online and target passes share masks. */
  setDropoutSeed?: (seed: number) => void;
}

export interface StepResult {
  loss: number;
  /** What the recipe reports with each step: the discretization N, or a stage. */
  n: number;
}

/**
 * One consistency-training step on a batch x in [-1, 1] (docs/contracts.md, Consistency models):
 * pairs of levels t > r from ctx.levels, the same z for both points, loss = mean over the batch of
 * weight * pseudo-Huber(f(x + t z, t), stopgrad f_target(x + r z, r)), or the MSE without weights.
 * The same dropout masks for both points. Updates the optimiser and a target network; the caller
 * updates EMA copies for sampling.
 */
export function ctStep(ctx: CtStepContext, x: Tensor, step: number): StepResult {
  return tidy(() => {
    const { loss, n, mu } = ctLoss(ctx, x, step);
    const value = ctx.optimizer.minimize(loss);
    if (ctx.targetModel) noGrad(() => emaUpdate(ctx.targetModel!.parameters(), ctx.model.parameters(), mu));
    return { loss: value, n };
  });
}

/** The consistency-training loss of ctStep, with its N (or stage) and the target's rate mu; no update. */
export function ctLoss(ctx: Omit<CtStepContext, 'optimizer'>, x: Tensor, step: number): { loss: Tensor; n: number; mu: number } {
  const batch = x.shape[0]!;
  const g = ctx.generator;
  const { hi, lo, weights, n, mu } = ctx.levels(g, batch, step);
  const sHi = tensor(hi), sLo = tensor(lo);
  const z = randn([...x.shape], { generator: g });
  const col = (s: Tensor) => s.reshape([batch, 1, 1, 1]);
  const dropoutSeed = ctx.setDropoutSeed ? g.nextUint32() : 0;
  ctx.setDropoutSeed?.(dropoutSeed);
  const online = ctx.student(x.add(col(sHi).mul(z)), sHi);
  const teacher = ctx.target ?? ctx.student;
  ctx.setDropoutSeed?.(dropoutSeed);
  // its own tidy: the target pass's intermediates go before the backward's gradients arrive
  const target = noGrad(() => tidy(() => teacher(x.add(col(sLo).mul(z)), sLo)));
  if (!weights) return { loss: mean(online.sub(target).square()), n, mu };
  const [c, h, w] = x.shape.slice(1) as [number, number, number];
  return { loss: mean(pseudoHuber(online, target, pseudoHuberConstant(c, h, w)).mul(tensor(weights))), n, mu };
}
