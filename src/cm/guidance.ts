import { ConfigError } from '../errors';
import type { Denoiser } from './edm';

// Classifier-free guidance (Ho & Salimans 2022), in EDM's denoiser form:
// D_w(x, sigma, y) = D(x, sigma) + (1 + w) (D(x, sigma, y) - D(x, sigma)), the unconditional D
// being the "no label" row that label dropout trains. w = 0 is the conditional denoiser; an image
// whose label is the "no label" row gets D(x, sigma) whatever w.

/** Checks a guidance weight w: a finite number >= 0. */
export function checkGuidance(guidance: number): void {
  if (!(Number.isFinite(guidance) && guidance >= 0)) {
    throw new ConfigError('guidance', `guidance must be a number >= 0 (0: the conditional teacher; 1-4 typical), got ${guidance}.`);
  }
}

/** The guided denoiser D_w of a class-conditional denoiser; it needs labels (one per image). */
export function guidedDenoiser(denoiser: Denoiser, guidance: number): Denoiser {
  checkGuidance(guidance);
  return (x, sigma, labels) => {
    if (labels === undefined) throw new ConfigError('guidance', 'guidance needs a class per image: it moves each image towards its class.');
    if (guidance === 0) return denoiser(x, sigma, labels);
    const unconditional = denoiser(x, sigma);
    return unconditional.add(denoiser(x, sigma, labels).sub(unconditional).mul(1 + guidance));
  };
}
