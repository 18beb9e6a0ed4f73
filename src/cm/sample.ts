import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad-mode';
import { full, randn } from '../tensor/create';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import type { ConsistencyFunction } from './parametrization';
import { SIGMA_MAX, SIGMA_MIN } from './schedule';

export interface SampleOptions {
  count: number;
  shape: [number, number, number];
  generator: Generator;
  /** Noise levels tau_0 > tau_1 > ...; one level is one-step sampling. Default [80]. */
  sigmas?: readonly number[];
  /**
   * Zero-shot editing: after every step, x0 <- replace(x0), which puts back what is known of the
   * image (see edit.ts). The result is the last replace's output.
   */
  replace?: (x0: Tensor) => Tensor;
}

/**
 * Multistep consistency sampling (one step when sigmas has one level): x = T z;
 * x0 = clip(f(x, tau_0)); then for each further tau: x = x0 + sqrt(tau^2 - eps^2) z', x0 = clip(f(x, tau)).
 * With opts.replace, x0 = replace(clip(f(x, tau))) at every step (the official iterative editing).
 */
export function sample(f: ConsistencyFunction, opts: SampleOptions): Tensor {
  const sigmas = opts.sigmas ?? [SIGMA_MAX];
  if (!sigmas.length || sigmas.some((s, i) => !(s > SIGMA_MIN) || (i > 0 && s >= sigmas[i - 1]!))) {
    throw new Error(`sample: noise levels must decrease and stay above ${SIGMA_MIN}, got [${sigmas.join(', ')}].`);
  }
  const [c, h, w] = opts.shape;
  const level = (s: number) => full([opts.count], s);
  const replace = opts.replace ?? ((x0: Tensor) => x0);
  return noGrad(() => {
    let x0 = tidy(() => replace(f(randn([opts.count, c, h, w], { generator: opts.generator }).mul(sigmas[0]!), level(sigmas[0]!)).clamp(-1, 1)));
    for (const tau of sigmas.slice(1)) {
      const previous = x0;
      x0 = tidy(() => {
        const x = previous.add(randn([opts.count, c, h, w], { generator: opts.generator }).mul(Math.sqrt(tau * tau - SIGMA_MIN * SIGMA_MIN)));
        return replace(f(x, level(tau)).clamp(-1, 1));
      });
      previous.dispose();
    }
    return x0;
  });
}
