import { noGrad } from '../autograd/grad-mode';
import type { Module } from '../nn/module';
import { reshape } from '../ops/movement';
import type { AdamW } from '../optim/adamw';
import { emaUpdate } from '../optim/ema';
import { randn, tensor } from '../tensor/create';
import type { Generator } from '../tensor/random';
import { tidy } from '../tensor/scope';
import type { Tensor } from '../tensor/tensor';
import { type Denoiser, heunStep } from './edm';
import { pseudoHuber, pseudoHuberConstant } from './losses';
import type { ConsistencyFunction } from './parametrization';
import { karrasSigmas } from './schedule';
import type { StepResult } from './train';

// Consistency distillation (docs/contracts.md, Consistency models): from x_{n+1} = x + sigma_{n+1} z, one Heun step
// of the teacher's probability-flow ODE gives x_hat_n at sigma_n; the student learns
// d(f_theta(x_{n+1}, sigma_{n+1}), stopgrad f_ema(x_hat_n, sigma_n)), with fixed N and a fixed
// target EMA rate mu (official: N = 18, mu = 0 for CIFAR-10; N = 40, mu = 0.95 for ImageNet-64).

export type Distance = 'l2' | 'l1' | 'pseudo-huber';

/** Per-image distance between two image batches: mean squared, mean absolute, or pseudo-Huber. */
export function distance(a: Tensor, b: Tensor, kind: Distance): Tensor {
  const axes = Array.from({ length: a.ndim - 1 }, (_, i) => i + 1);
  if (kind === 'l2') return a.sub(b).square().mean(axes);
  if (kind === 'l1') return a.sub(b).abs().mean(axes);
  const [c, h, w] = a.shape.slice(1) as [number, number, number];
  return pseudoHuber(a, b, pseudoHuberConstant(c, h, w));
}

export interface CdContext {
  teacher: Denoiser;
  student: ConsistencyFunction;
  /** The target network's consistency function (EMA of the student at rate mu). */
  target: ConsistencyFunction;
  generator: Generator;
  /** N: levels of the Karras grid. */
  intervals: number;
  distance: Distance;
}

/** The CD loss for a batch x (no update); the levels drawn are returned for inspection. */
export function cdLoss(ctx: CdContext, x: Tensor): { loss: Tensor; indices: number[] } {
  const batch = x.shape[0]!;
  const sigmas = karrasSigmas(ctx.intervals);
  const indices = Array.from({ length: batch }, () => ctx.generator.int(ctx.intervals - 1));
  const sHi = tensor(indices.map((i) => sigmas[i + 1]!)), sLo = tensor(indices.map((i) => sigmas[i]!));
  const xHi = x.add(reshape(sHi, [-1, 1, 1, 1]).mul(randn([...x.shape], { generator: ctx.generator })));
  const target = noGrad(() => ctx.target(heunStep(ctx.teacher, xHi, sHi, sLo), sLo));
  return { loss: distance(ctx.student(xHi, sHi), target, ctx.distance).mean(), indices };
}

export interface CdStepContext extends CdContext {
  model: Module;
  targetModel: Module;
  optimizer: AdamW;
  /** The target's EMA rate. */
  mu: number;
}

/** One distillation step: loss, backward, AdamW, target EMA update. */
export function cdStep(ctx: CdStepContext, x: Tensor): StepResult {
  return tidy(() => {
    const value = ctx.optimizer.minimize(cdLoss(ctx, x).loss);
    noGrad(() => emaUpdate(ctx.targetModel.parameters(), ctx.model.parameters(), ctx.mu));
    return { loss: value, n: ctx.intervals };
  });
}
