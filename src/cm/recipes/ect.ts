// Easy consistency tuning from scratch (Geng et al. 2024): a denoiser first, then the gap between
// the two noise levels halves at each stage.
import { ectStage, ectTargetLevel, SIGMA_MAX, SIGMA_MIN } from '../schedule';
import type { LevelSampler } from '../train';
import { consistencyOutputs, consistencyTrainingStep } from './consistency';
import type { TrainingRecipe } from './recipe';

export interface EctSettings {
  /** The number of stages; the gap between the two noise levels halves at each (default 6). */
  ectStages?: number;
}

export const DEFAULT_ECT_STAGES = 6;

/**
 * t lognormal (iCT's -1.1, 2), r = ectTargetLevel(t, stage), weights 1/(t - r); stage 0 is
 * denoising (r = sigma_min, where f is the identity). N reports the stage.
 */
export function ectLevels(totalSteps: number, stages = DEFAULT_ECT_STAGES): LevelSampler {
  return (g, batch, step) => {
    const stage = ectStage(step, totalSteps, stages);
    const hi = Array.from({ length: batch }, () => Math.min(SIGMA_MAX, Math.max(SIGMA_MIN, Math.exp(-1.1 + 2 * g.normal()))));
    const lo = hi.map((t) => ectTargetLevel(t, stage));
    return { hi, lo, weights: hi.map((t, i) => 1 / Math.max(t - lo[i]!, 1e-6)), n: stage, mu: 0 };
  };
}

export const ect: TrainingRecipe<EctSettings> = {
  name: 'ect',
  summary: 'easy consistency tuning from scratch: starts as denoising, then halves the gap between the two noise levels at each stage',
  ...consistencyOutputs('official'),
  defaults: { steps: 1000, lr: 6e-4, lrDecay: 'none' },
  settingDefaults: { ectStages: DEFAULT_ECT_STAGES },
  checkSettings: (c, refuse) => {
    if (c.ectStages !== undefined && !(Number.isInteger(c.ectStages) && c.ectStages >= 1)) refuse('ectStages', `ectStages must be an integer >= 1, got ${c.ectStages}.`);
  },
  command: 'train',
  flags: { 'ect-stages': { setting: 'ectStages', kind: 'int', help: 'stages of the run (the gap halves at each) [6]' } },
  progress: 'stage',
  start: () => ({}),
  step: (run, _state, x, labels) => consistencyTrainingStep(run, 'official', ectLevels(run.config.steps, run.config.ectStages), x, labels),
};
