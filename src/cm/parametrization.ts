import type { SimpleUNet } from '../nn/simple-unet';
import { log, sqrt, square } from '../ops/elementwise';
import { reshape } from '../ops/movement';
import type { Tensor } from '../tensor/tensor';
import { SIGMA_DATA, SIGMA_MIN } from './schedule';

/** What a consistency model's weights mean (metadata `parametrization`); an EDM teacher's file says 'edm'. */
export type Parametrization = 'official' | 'community';

/** Whether the file metadata's parametrization is an EDM denoiser's (a teacher) rather than a consistency model's. */
export const isDenoiserParametrization = (name: string | undefined): boolean => name === 'edm';

/** Whether the parametrization wraps a network body F (official, EDM), whose time input is cNoiseScale ln(sigma); the community model takes sigma itself. */
export const scalesTimeInput = (name: string): boolean => name !== 'community';

/** The consistency parametrizations a file may name. */
export const PARAMETRIZATIONS: readonly Parametrization[] = ['official', 'community'];

/** The official parametrization's time input is cNoiseScale ln(sigma); 250 as the official code's 1000/4. */
export const DEFAULT_C_NOISE_SCALE = 250;

/**
 * f(x, sigma): the consistency function, sigma [B] per image; a class-conditional network also
 * takes one label per image (absent: the "no label" row).
 */
export type ConsistencyFunction = (x: Tensor, sigma: Tensor, labels?: ArrayLike<number>) => Tensor;

/** A network body F(x, t), with labels for a class-conditional one. */
export type NetworkBody = (x: Tensor, t: Tensor, labels?: ArrayLike<number>) => Tensor;

/** f with the labels fixed: what the losses and samplers call as f(x, sigma). */
export const withLabels = (f: ConsistencyFunction, labels: ArrayLike<number> | undefined): ConsistencyFunction =>
  labels === undefined ? f : (x, sigma) => f(x, sigma, labels);

/**
 * The official parametrization around a network body F (docs/contracts.md, Consistency models):
 * f = c_skip x + c_out F(c_in x, cNoiseScale ln sigma) with c_skip = sd^2/((s-eps)^2 + sd^2),
 * c_out = (s-eps) sd / sqrt(s^2 + sd^2), c_in = 1/sqrt(s^2 + sd^2). c_skip(eps) = 1, c_out(eps) = 0.
 */
export function officialConsistency(body: NetworkBody, cNoiseScale: number): ConsistencyFunction {
  return (x, sigma, labels) => {
    const col = (t: Tensor) => reshape(t, [-1, 1, 1, 1]);
    const shifted = sigma.sub(SIGMA_MIN);
    const norm = sqrt(square(sigma).add(SIGMA_DATA ** 2));
    const cSkip = col(square(shifted).add(SIGMA_DATA ** 2).reciprocal().mul(SIGMA_DATA ** 2));
    const cOut = col(shifted.mul(SIGMA_DATA).div(norm));
    const cIn = col(norm.reciprocal());
    return cSkip.mul(x).add(cOut.mul(body(cIn.mul(x), log(sigma).mul(cNoiseScale), labels)));
  };
}

/** The consistency function of a SimpleUNet under either parametrization. */
export function simpleUNetConsistency(model: SimpleUNet, parametrization: Parametrization, cNoiseScale: number): ConsistencyFunction {
  if (!scalesTimeInput(parametrization)) return (x, sigma, labels) => model.forward(x, sigma, labels);
  return officialConsistency((x, t, labels) => model.body(x, t, undefined, labels), cNoiseScale);
}
