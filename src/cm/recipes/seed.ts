// The community recipe (the seed's): N and mu per epoch, i uniform, MSE against an EMA target network.
import { communitySchedule, karrasSigmas } from '../schedule';
import type { LevelSampler } from '../train';
import { consistencyOutputs, consistencyTrainingStep } from './consistency';
import type { RecipeState, TrainingRecipe } from './recipe';

/** The community schedule's N and mu at this epoch, i uniform in 0..N-2, no weights (MSE). */
export function seedLevels(epoch: number, epochs: number): LevelSampler {
  return (g, batch) => {
    const { n, mu } = communitySchedule(epoch, epochs);
    const sigmas = karrasSigmas(n);
    const indices = Array.from({ length: batch }, () => g.int(n - 1));
    return { hi: indices.map((i) => sigmas[i + 1]!), lo: indices.map((i) => sigmas[i]!), weights: null, n, mu };
  };
}

export const seed: TrainingRecipe<object, Required<Pick<RecipeState, 'target'>>> = {
  name: 'seed',
  summary: 'the community recipe: community parametrization, per-epoch N and mu, MSE against an EMA target',
  ...consistencyOutputs('community'),
  defaults: { steps: 1000, lr: 6e-4, lrDecay: 'none' },
  checkRun: (c, refuse) => {
    if ((c.model ?? 'SimpleUNet') === 'UNet') refuse('model', 'model UNet has no community parametrization: use recipe ict, edm or cd.');
  },
  command: 'train',
  flags: {},
  progress: 'N',
  start: (run) => ({ target: run.newNetwork() }),
  step: (run, state, x, labels) => consistencyTrainingStep(run, 'community', seedLevels(run.epoch, run.epochs), x, labels, state.target),
};
