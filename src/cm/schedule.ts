// Noise levels and curricula of consistency training (docs/contracts.md, Consistency models).

export const SIGMA_DATA = 0.5;
export const SIGMA_MIN = 0.002;
export const SIGMA_MAX = 80;
export const RHO = 7;

/** The Karras grid sigma_i = (eps^(1/rho) + i/(N-1) (T^(1/rho) - eps^(1/rho)))^rho, i = 0..N-1. */
export function karrasSigmas(n: number, eps = SIGMA_MIN, T = SIGMA_MAX, rho = RHO): Float64Array {
  if (!Number.isInteger(n) || n < 2) throw new Error(`karrasSigmas: need at least 2 levels, got ${n}.`);
  const a = eps ** (1 / rho), b = T ** (1 / rho);
  return Float64Array.from({ length: n }, (_, i) => (a + (i / (n - 1)) * (b - a)) ** rho);
}

/** Improved CT's doubling curriculum: N(k) = min(s0 2^floor(k/K'), s1) + 1, K' = floor(K / (log2 floor(s1/s0) + 1)). */
export function ictDiscretization(step: number, totalSteps: number, s0 = 10, s1 = 1280): number {
  const kPrime = Math.floor(totalSteps / (Math.log2(Math.floor(s1 / s0)) + 1));
  return Math.min(s0 * 2 ** Math.floor(step / Math.max(kPrime, 1)), s1) + 1;
}

/** The community recipe's per-epoch schedule: N = ceil(sqrt(e (150^2 - 4) / E + 4) - 1) + 1, mu = exp(2 ln 0.95 / N). */
export function communitySchedule(epoch: number, epochs: number): { n: number; mu: number } {
  const n = Math.ceil(Math.sqrt((epoch * (150 ** 2 - 4)) / epochs + 4) - 1) + 1;
  return { n, mu: Math.exp((2 * Math.log(0.95)) / n) };
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough to weight the index distribution. */
export function erf(x: number): number {
  const s = Math.sign(x), a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/**
 * Improved CT's index distribution over i = 0..N-2: p(i) proportional to
 * erf((ln sigma_{i+1} - Pmean) / (sqrt2 Pstd)) - erf((ln sigma_i - Pmean) / (sqrt2 Pstd)).
 */
export function lognormalIndexProbabilities(sigmas: ArrayLike<number>, pMean = -1.1, pStd = 2.0): Float64Array {
  const cdf = (s: number) => erf((Math.log(s) - pMean) / (Math.SQRT2 * pStd));
  const p = Float64Array.from({ length: sigmas.length - 1 }, (_, i) => cdf(sigmas[i + 1]!) - cdf(sigmas[i]!));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / total);
}

/** Draws an index from cumulative probabilities by inverse transform. */
export function drawIndex(cumulative: ArrayLike<number>, u: number): number {
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Easy Consistency Tuning's gap schedule (Geng et al. 2024, "Consistency Models Made Easy"):
 * the target level r for level t in stage a (a = floor(step / stage length)):
 * r = t (1 - n(t) / q^a), n(t) = 1 + k sigmoid(-b t), clamped below at sigma_min (where the
 * consistency function is the identity). Stage 0 has r = sigma_min for every t: plain denoising,
 * the diffusion pre-training inside the schedule; each later stage halves the gap t - r (q = 2).
 */
export function ectTargetLevel(t: number, stage: number, k = 8, b = 1, q = 2): number {
  const n = 1 + k / (1 + Math.exp(b * t));
  return Math.max(SIGMA_MIN, t * (1 - n / q ** stage));
}

/** The stage of `step` when a run of totalSteps is split into `stages` equal stages. */
export function ectStage(step: number, totalSteps: number, stages: number): number {
  return Math.min(stages - 1, Math.floor((step * stages) / Math.max(totalSteps, 1)));
}
