import { ConfigError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import type { Denoiser } from './edm';

// Classifier-free guidance (Ho & Salimans 2022), in EDM's denoiser form:
// D_w(x, sigma, y) = D(x, sigma) + (1 + w) (D(x, sigma, y) - D(x, sigma)), the unconditional D
// being the "no label" row that label dropout trains. w = 0 is the conditional denoiser; an image
// whose label is the "no label" row gets D(x, sigma) whatever w.
// Autoguidance (Karras et al. 2024, "Guiding a diffusion model with a bad version of itself"):
// D_w(x, sigma) = D_weak(x, sigma) + (1 + w) (D(x, sigma) - D_weak(x, sigma)), D_weak a weaker
// teacher of the same kind (trained for less, or a longer EMA); it needs no classes.

/** Checks a guidance weight w: a finite number >= 0. */
export function checkGuidance(guidance: number): void {
  if (!(Number.isFinite(guidance) && guidance >= 0)) {
    throw new ConfigError('guidance', `guidance must be a number >= 0 (0: no guidance, or for classifier-free guidance the conditional teacher; 1-3 typical), got ${guidance}.`);
  }
}

/** The guided denoiser D_w of a class-conditional denoiser; it needs labels (one per image). */
export function guidedDenoiser(denoiser: Denoiser, guidance: number): Denoiser {
  checkGuidance(guidance);
  return (x, sigma, labels) => {
    if (labels === undefined) throw new ConfigError('guidance', 'guidance needs a class per image: it moves each image towards its class.');
    if (guidance === 0) return denoiser(x, sigma, labels);
    return extrapolated(denoiser(x, sigma), denoiser(x, sigma, labels), guidance);
  };
}

/** The autoguided denoiser D_w of `denoiser` by the weaker `weak` one; labels, if any, go to both. */
export function autoguidedDenoiser(denoiser: Denoiser, weak: Denoiser, guidance: number): Denoiser {
  checkGuidance(guidance);
  return (x, sigma, labels) => (guidance === 0 ? denoiser(x, sigma, labels) : extrapolated(weak(x, sigma, labels), denoiser(x, sigma, labels), guidance));
}

/** weak + (1 + w)(strong - weak): the guided output, from the weaker prediction towards and past the stronger one. */
function extrapolated(weak: Tensor, strong: Tensor, guidance: number): Tensor {
  return weak.add(strong.sub(weak).mul(1 + guidance));
}
