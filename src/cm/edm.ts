import { noGrad } from '../autograd/grad-mode';
import { log, sqrt, square } from '../ops/elementwise';
import { reshape } from '../ops/movement';
import { full, randn, tensor } from '../tensor/create';
import type { Generator } from '../tensor/random';
import { tidy } from '../tensor/scope';
import type { Tensor } from '../tensor/tensor';
import { RHO, SIGMA_DATA, SIGMA_MAX, SIGMA_MIN } from './schedule';
import { defaultSampleBatch, inChunks, labelRows } from './chunks';
import { withLabels, type NetworkBody } from './parametrization';
import { ConfigError } from '../errors';

// The EDM teacher of consistency distillation (Karras et al. 2022), docs/contracts.md, Consistency models:
// D(x, sigma) = c_skip x + c_out F(c_in x, c_noise) with c_skip = sd^2/(sigma^2 + sd^2),
// c_out = sigma sd/sqrt(sigma^2 + sd^2), c_in = 1/sqrt(sigma^2 + sd^2), c_noise = cNoiseScale ln sigma
// (the network time input, as for the consistency models here); trained with lognormal sigma
// (P_mean = -1.2, P_std = 1.2) and weight lambda = (sigma^2 + sd^2)/(sigma sd)^2.

/** D(x, sigma): the denoiser, sigma [B] per image; labels for a class-conditional network. */
export type Denoiser = (x: Tensor, sigma: Tensor, labels?: ArrayLike<number>) => Tensor;

export const EDM_P_MEAN = -1.2, EDM_P_STD = 1.2;

/** The EDM scalings at one noise level (plain numbers, for tests and documentation). */
export function edmScalings(sigma: number): { cSkip: number; cOut: number; cIn: number } {
  const d2 = SIGMA_DATA ** 2;
  return { cSkip: d2 / (sigma ** 2 + d2), cOut: (sigma * SIGMA_DATA) / Math.sqrt(sigma ** 2 + d2), cIn: 1 / Math.sqrt(sigma ** 2 + d2) };
}

/** EDM's loss weight lambda(sigma) = (sigma^2 + sd^2)/(sigma sd)^2. */
export const edmLossWeight = (sigma: number): number => (sigma ** 2 + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA) ** 2;

export function edmDenoiser(body: NetworkBody, cNoiseScale: number): Denoiser {
  return (x, sigma, labels) => {
    const col = (t: Tensor) => reshape(t, [-1, 1, 1, 1]);
    const norm2 = square(sigma).add(SIGMA_DATA ** 2);
    const cSkip = col(norm2.reciprocal().mul(SIGMA_DATA ** 2));
    const cOut = col(sigma.mul(SIGMA_DATA).div(sqrt(norm2)));
    const cIn = col(sqrt(norm2).reciprocal());
    return cSkip.mul(x).add(cOut.mul(body(cIn.mul(x), log(sigma).mul(cNoiseScale), labels)));
  };
}

/** Denoising score matching: mean over the batch of lambda(sigma) * mean((D(x + sigma z) - x)^2). */
export function edmLoss(denoiser: Denoiser, x: Tensor, generator: Generator): { loss: Tensor; sigmas: number[] } {
  const batch = x.shape[0]!;
  const sigmas = Array.from({ length: batch }, () => Math.exp(EDM_P_MEAN + EDM_P_STD * generator.normal()));
  const sigma = tensor(sigmas);
  const noisy = x.add(reshape(sigma, [-1, 1, 1, 1]).mul(randn([...x.shape], { generator })));
  const perImage = denoiser(noisy, sigma).sub(x).square().mean([1, 2, 3]);
  return { loss: perImage.mul(tensor(sigmas.map(edmLossWeight))).mean(), sigmas };
}

/**
 * One step of Heun's 2nd-order method on the probability-flow ODE dx/dsigma = (x - D(x, sigma))/sigma,
 * from sigma `from` to `to` (per image, [B]); Euler when `to` is 0.
 */
export function heunStep(denoiser: Denoiser, x: Tensor, from: Tensor, to: Tensor): Tensor {
  const col = (t: Tensor) => reshape(t, [-1, 1, 1, 1]);
  const h = col(to.sub(from));
  const d = x.sub(denoiser(x, from)).div(col(from));
  const euler = x.add(h.mul(d));
  const toValues = to.toArray();
  if (toValues.every((v) => v === 0)) return euler;
  if (toValues.some((v) => v === 0)) throw new Error('heunStep: the target level must be 0 for every image or for none.');
  const d2 = euler.sub(denoiser(euler, to)).div(col(to));
  return x.add(h.mul(d.add(d2).mul(0.5)));
}

export interface EdmSampleOptions {
  count: number;
  shape: [number, number, number];
  generator: Generator;
  /** Levels of the Karras grid from T to eps; 2 steps - 1 evaluations. */
  steps: number;
  /** EDM's stochastic churn (S_churn; 0 is the deterministic sampler). */
  churn?: number;
  /** Images per network evaluation (default: defaultSampleBatch(shape)); the result does not depend on it. */
  batch?: number;
  /** A class-conditional teacher: one label per image. */
  labels?: ArrayLike<number>;
}

/**
 * EDM's sampler: Heun on the Karras grid T -> eps, then Euler to 0; optionally with churn. In
 * chunks of opts.batch images, each image's noise drawn together, so the batch size does not
 * change the result.
 */
export function edmSample(denoiser: Denoiser, opts: EdmSampleOptions): Tensor {
  const { steps } = opts;
  if (!Number.isInteger(steps) || steps < 2) throw new ConfigError('steps', `steps (Heun steps of the EDM sampler) must be an integer >= 2, got ${steps}.`);
  const grid = Array.from({ length: steps }, (_, i) =>
    (SIGMA_MAX ** (1 / RHO) + (i / (steps - 1)) * (SIGMA_MIN ** (1 / RHO) - SIGMA_MAX ** (1 / RHO))) ** RHO);
  grid.push(0);
  const gamma = Math.min((opts.churn ?? 0) / steps, Math.SQRT2 - 1);
  const churned = (i: number) => gamma > 0 && grid[i]! > 0.05 && grid[i]! < 50;
  const draws = 1 + grid.slice(0, steps).filter((_, i) => churned(i)).length;
  return inChunks(opts.count, opts.batch ?? defaultSampleBatch(opts.shape), (first, count) => noGrad(() => tidy(() => {
    const d = withLabels(denoiser, labelRows(opts.labels, opts.count, first, count));
    const [c, h, w] = opts.shape;
    const noise = randn([count, draws, c, h, w], { generator: opts.generator });
    let drawn = 0;
    const z = () => (draws === 1 ? noise : noise.slice([0, drawn], [count, drawn + 1])).reshape([count, c, h, w]);
    let x = z().mul(grid[0]!);
    drawn++;
    for (let i = 0; i < steps; i++) {
      const previous = x;
      x = tidy(() => {
        let from = grid[i]!, xi = previous;
        if (churned(i)) {
          const raised = from * (1 + gamma);
          xi = xi.add(z().mul(Math.sqrt(raised ** 2 - from ** 2)));
          drawn++;
          from = raised;
        }
        return heunStep(d, xi, full([count], from), full([count], grid[i + 1]!));
      });
      previous.dispose();
    }
    return x.clamp(-1, 1);
  })));
}
