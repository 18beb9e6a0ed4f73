// Improved consistency training (Song & Dhariwal 2023), docs/contracts.md, Consistency models.
import { drawIndex, ictDiscretization, karrasSigmas, lognormalIndexProbabilities } from '../schedule';
import type { LevelSampler } from '../train';
import { consistencyOutputs, consistencyTrainingStep } from './consistency';
import type { TrainingRecipe } from './recipe';

export interface IctSettings {
  /** The curriculum's cap s1 on the number of intervals (absent: the paper's 1280). */
  maxIntervals?: number;
}

/**
 * N(k) doubling from 10 to maxIntervals over the run, i drawn with the lognormal-weighted
 * probabilities, weights 1/(s_{i+1} - s_i); no target network (mu = 0).
 */
export function ictLevels(totalSteps: number, maxIntervals = 1280): LevelSampler {
  return (g, batch, step) => {
    const n = ictDiscretization(step, totalSteps, 10, maxIntervals);
    const sigmas = karrasSigmas(n);
    const p = lognormalIndexProbabilities(sigmas);
    const cumulative = new Float64Array(p.length);
    p.reduce((acc, v, i) => (cumulative[i] = acc + v), 0);
    const indices = Array.from({ length: batch }, () => drawIndex(cumulative, g.uniform()));
    const hi = indices.map((i) => sigmas[i + 1]!), lo = indices.map((i) => sigmas[i]!);
    return { hi, lo, weights: hi.map((s, i) => 1 / (s - lo[i]!)), n, mu: 0 };
  };
}

export const ict: TrainingRecipe<IctSettings> = {
  name: 'ict',
  summary: 'improved CT: official parametrization, pseudo-Huber, lognormal levels, doubling curriculum',
  ...consistencyOutputs('official'),
  defaults: { steps: 2400, lr: 1e-3, lrDecay: 'cosine' },
  settingDefaults: { maxIntervals: 80 },
  checkSettings: (c, refuse) => {
    if (c.maxIntervals !== undefined && !(Number.isInteger(c.maxIntervals) && c.maxIntervals >= 10)) refuse('maxIntervals', `maxIntervals must be an integer >= 10, got ${c.maxIntervals}.`);
  },
  command: 'train',
  flags: {
    'max-intervals': {
      setting: 'maxIntervals', kind: 'int',
      help: "the curriculum's last number of intervals, its doublings from 10 spread evenly over the run (the paper's 1280 is for long runs; 80 learned fastest in 2400 steps here) [80]",
    },
  },
  progress: 'N',
  start: () => ({}),
  step: (run, _state, x, labels) => consistencyTrainingStep(run, 'official', ictLevels(run.config.steps, run.config.maxIntervals), x, labels),
};
