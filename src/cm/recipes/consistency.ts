// What the consistency recipes (ict, ect, seed, cd) share: the consistency function of a network,
// sampling with noise levels, the grids at 1 and 2 steps, and the consistency-training step.
import { UNet } from '../../nn/unet';
import { networkConsistency, type Network } from '../network';
import { withLabels, type ConsistencyFunction, type Parametrization } from '../parametrization';
import { sample, SAMPLER_LEVELS } from '../sample';
import { ctStep, type LevelSampler, type StepResult } from '../train';
import type { RecipeRun, SampleSettings, TrainingRecipe } from './recipe';
import type { Tensor } from '../../tensor/tensor';

/** f of a network under the parametrization, with the run's time input. */
export const consistencyOf = (run: RecipeRun, network: Network, parametrization: Parametrization): ConsistencyFunction =>
  networkConsistency(network, parametrization, run.config.cNoiseScale);

/** A consistency recipe's sampler: one step, or through settings.sigmas. */
const consistencySampler = (parametrization: Parametrization): TrainingRecipe['sample'] => (run, network, count, generator, s) =>
  sample(consistencyOf(run, network, parametrization), { count, shape: run.imageShape, generator, sigmas: s.sigmas, batch: s.batch, labels: s.labels });

/** The grids (and learning-curve columns) of a consistency model: 1 and 2 steps. */
const CONSISTENCY_GRIDS: readonly (readonly [string, SampleSettings])[] = [['1step', { sigmas: SAMPLER_LEVELS[1] }], ['2step', { sigmas: SAMPLER_LEVELS[2] }]];

/** What every consistency recipe makes under `parametrization`: its sampler, grids, curve, export (ema.safetensors) and no extra metadata. */
export const consistencyOutputs = (parametrization: Parametrization) => ({
  parametrization,
  sample: consistencySampler(parametrization),
  grids: CONSISTENCY_GRIDS,
  curve: CONSISTENCY_GRIDS,
  exportName: 'ema.safetensors',
  metadata: () => ({}),
}) satisfies Partial<TrainingRecipe>;

/**
 * The step of consistency training (ctStep) with a recipe's levels: the target is the student
 * under stopgrad, or `target` (then updated towards the model at the levels' rate mu). The UNet's
 * dropout masks are the same in both passes.
 */
export function consistencyTrainingStep(run: RecipeRun, parametrization: Parametrization, levels: LevelSampler, x: Tensor, labels: ArrayLike<number> | undefined, target?: Network): StepResult {
  const model = run.model;
  return ctStep({
    levels, model, optimizer: run.optimizer, generator: run.generator,
    student: withLabels(consistencyOf(run, model, parametrization), labels),
    ...(target ? { target: withLabels(consistencyOf(run, target, parametrization), labels), targetModel: target } : {}),
    setDropoutSeed: model instanceof UNet ? (seed) => model.setDropoutSeed(seed) : undefined,
  }, x, run.step);
}
