// The EDM teacher (Karras et al. 2022): a denoiser trained by denoising score matching, sampled with Heun.
import { edmDenoiser, edmLoss, edmSample, type Denoiser } from '../edm';
import { networkBody, type Network } from '../network';
import { withLabels } from '../parametrization';
import type { RecipeRun, SampleSettings, TrainingRecipe } from './recipe';

const denoiserOf = (run: RecipeRun, network: Network): Denoiser => edmDenoiser(networkBody(network), run.config.cNoiseScale);
const HEUN_18: readonly [string, SampleSettings] = ['heun18', { heunSteps: 18 }];

export const edm: TrainingRecipe = {
  name: 'edm',
  summary: 'the EDM teacher: a denoiser (lognormal noise levels, EDM loss weights), sampled with Heun',
  parametrization: 'edm',
  defaults: { steps: 1000, lr: 6e-4, lrDecay: 'none' },
  command: 'teacher',
  flags: {},
  start: () => ({}),
  step: (run, _state, x, labels) => ({ loss: run.optimizer.minimize(edmLoss(withLabels(denoiserOf(run, run.model), labels), x, run.generator).loss), n: 0 }),
  sample: (run, network, count, generator, s) => edmSample(denoiserOf(run, network), {
    count, shape: run.imageShape, generator, steps: s.heunSteps ?? 18, batch: s.batch, labels: s.labels,
  }),
  grids: [HEUN_18, ['heun40', { heunSteps: 40 }]],
  // not the 40 Heun steps of the second grid: twice the cost of 18 at every point
  curve: [HEUN_18],
  exportName: 'teacher.safetensors',
  metadata: () => ({}),
};
