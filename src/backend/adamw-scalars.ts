import type { AdamWHyper } from './backend';

/**
 * The scalars of one AdamW step (torch.optim.AdamW): p' = p decay - stepSize m' / (sqrt(v' invC2) + eps),
 * m' = b1 m + ob1 g scale, v' = b2 v + ob2 (g scale)^2. Every backend's adamw kernel uses these,
 * rounded once to the
 * buffers' precision (float32 unless `f` says otherwise).
 */
export function adamwScalars(h: AdamWHyper, f: (x: number) => number = Math.fround) {
  return {
    scale: f(h.gradScale), b1: f(h.beta1), ob1: f(1 - h.beta1), b2: f(h.beta2), ob2: f(1 - h.beta2),
    invC2: f(1 / h.biasCorrection2), eps: f(h.eps), stepSize: f(h.lr / h.biasCorrection1), decay: f(1 - h.lr * h.weightDecay),
  };
}
