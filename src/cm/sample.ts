import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad-mode';
import { ConfigError } from '../errors';
import { full, randn } from '../tensor/create';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { defaultSampleBatch, inChunks, labelRows } from './chunks';
import { withLabels, type ConsistencyFunction } from './parametrization';
import { SIGMA_MAX, SIGMA_MIN } from './schedule';

export interface SampleOptions {
  count: number;
  shape: [number, number, number];
  generator: Generator;
  /** Noise levels tau_0 > tau_1 > ...; one level is one-step sampling. Default [80]. */
  sigmas?: readonly number[];
  /**
   * Zero-shot editing: after every step, x0 <- replace(x0, first), which puts back what is known of
   * images first .. first + x0.shape[0] - 1 (see edit.ts). The result is the last replace's output.
   */
  replace?: (x0: Tensor, first: number) => Tensor;
  /** Images per network evaluation (default: defaultSampleBatch(shape)); the result does not depend on it. */
  batch?: number;
  /** A class-conditional model: one label per image (absent: unconditional, the "no label" row). */
  labels?: ArrayLike<number>;
}

/** The sampler's default noise levels by number of steps: 1 (80), 2 (80, 0.8), 5 (80, 40, 20, 10, 5). */
export const SAMPLER_LEVELS: Readonly<Record<number, readonly number[]>> = { 1: [80], 2: [80, 0.8], 5: [80, 40, 20, 10, 5] };

/** The default levels of a `steps`-step sampler; a ConfigError for a count without defaults. */
export function samplerLevels(steps: number): readonly number[] {
  const levels = SAMPLER_LEVELS[steps];
  if (!levels) throw new ConfigError('steps', `steps ${steps} has no default noise levels; use ${Object.keys(SAMPLER_LEVELS).join(', ')} or give explicit sigmas.`);
  return levels;
}

/** Throws a ConfigError unless the levels decrease and stay in (SIGMA_MIN, SIGMA_MAX]. */
export function checkSamplerLevels(sigmas: readonly number[]): void {
  if (!sigmas.length || sigmas.some((s, i) => !(s > SIGMA_MIN && s <= SIGMA_MAX) || (i > 0 && s >= sigmas[i - 1]!))) {
    throw new ConfigError('sigmas', `sigmas (the noise levels) must decrease within (${SIGMA_MIN}, ${SIGMA_MAX}], got [${sigmas.join(', ')}].`);
  }
}

/**
 * Multistep consistency sampling (one step when sigmas has one level): x = T z;
 * x0 = clip(f(x, tau_0)); then for each further tau: x = x0 + sqrt(tau^2 - eps^2) z', x0 = clip(f(x, tau)).
 * With opts.replace, x0 = replace(clip(f(x, tau))) at every step (the official iterative editing).
 * Works in chunks of opts.batch images; each image's noise for every step is drawn together, image
 * after image, so the result for a seed is the same for every batch size.
 */
export function sample(f: ConsistencyFunction, opts: SampleOptions): Tensor {
  const sigmas = opts.sigmas ?? [SIGMA_MAX];
  checkSamplerLevels(sigmas);
  return inChunks(opts.count, opts.batch ?? defaultSampleBatch(opts.shape), (first, count) => sampleChunk(f, opts, sigmas, first, count));
}

function sampleChunk(model: ConsistencyFunction, opts: SampleOptions, sigmas: readonly number[], first: number, count: number): Tensor {
  const [c, h, w] = opts.shape;
  const f = withLabels(model, labelRows(opts.labels, opts.count, first, count));
  const steps = sigmas.length;
  const level = (s: number) => full([count], s);
  const replace = opts.replace ?? ((x0: Tensor) => x0);
  return noGrad(() => tidy(() => {
    const noise = randn([count, steps, c, h, w], { generator: opts.generator });
    const z = (k: number) => (steps === 1 ? noise : noise.slice([0, k], [count, k + 1])).reshape([count, c, h, w]);
    let x0 = tidy(() => replace(f(z(0).mul(sigmas[0]!), level(sigmas[0]!)).clamp(-1, 1), first));
    sigmas.slice(1).forEach((tau, k) => {
      const previous = x0;
      x0 = tidy(() => replace(f(previous.add(z(k + 1).mul(Math.sqrt(tau * tau - SIGMA_MIN * SIGMA_MIN))), level(tau)).clamp(-1, 1), first));
      previous.dispose();
    });
    return x0;
  }));
}
