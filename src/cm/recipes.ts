import { UNet } from '../nn/unet';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { sample } from './sample';
import { ctStep, type Recipe as ConsistencyRecipe, type StepResult } from './train';
import { cdStep } from './distill';
import { edmLoss, edmSample } from './edm';
import { CD_DEFAULTS, type TrainConfig, type TrainRecipe } from './config';
import { withLabels, type Parametrization } from './parametrization';
import type { Trainer } from './trainer';

export interface SampleSettings {
  /** Consistency models: the sampler's noise levels (default one step from 80). */
  sigmas?: readonly number[];
  /** EDM teachers: Heun steps (default 18). */
  heunSteps?: number;
  /** Images per network evaluation (bounded memory); the result does not depend on it. */
  batch?: number;
  /** A class-conditional run: one label per image (absent: unconditional). */
  labels?: ArrayLike<number>;
}

/** What a training recipe is: how it parametrizes the network, its step, what it keeps and samples. */
export interface TrainingRecipe {
  readonly name: TrainRecipe;
  /** 'edm' trains a denoiser; the others train a consistency function. */
  readonly parametrization: Parametrization | 'edm';
  /** Whether the run keeps a target network (saved as `target.*`). */
  readonly usesTarget: boolean;
  /** One optimiser step on a batch x (with its labels, for a class-conditional run); the Trainer updates the EMA copies after it. */
  step(run: Trainer, x: Tensor, labels?: ArrayLike<number>): StepResult;
  /** Samples `count` images from the run's EMA copy, the noise drawn from `generator`. */
  sample(run: Trainer, count: number, generator: Generator, settings: SampleSettings): Tensor;
  /** Metadata this recipe adds to checkpoints and exports. */
  metadata(config: TrainConfig): Record<string, string>;
}

function consistencyRecipe(name: ConsistencyRecipe): TrainingRecipe {
  return {
    name,
    parametrization: name === 'seed' ? 'community' : 'official',
    usesTarget: name === 'seed',
    step: (run, x, labels) => ctStep({
      recipe: name, student: withLabels(run.consistency(run.model), labels), target: withLabels(run.consistency(run.target), labels),
      targetModel: run.target, model: run.model, optimizer: run.optimizer, generator: run.generator,
      totalSteps: run.config.steps, epoch: run.sampler.state.epoch, epochs: run.epochs,
      maxIntervals: run.config.maxIntervals, ectStages: run.config.ectStages,
      setDropoutSeed: run.model instanceof UNet ? (seed) => (run.model as UNet).setDropoutSeed(seed) : undefined,
    }, x, run.step),
    sample: (run, count, generator, s) => sample(run.consistency(run.ema), {
      count, shape: run.imageShape, generator, sigmas: s.sigmas, batch: s.batch, labels: s.labels,
    }),
    metadata: () => ({}),
  };
}

export const RECIPES: Record<TrainRecipe, TrainingRecipe> = {
  ict: consistencyRecipe('ict'),
  ect: consistencyRecipe('ect'),
  seed: consistencyRecipe('seed'),
  edm: {
    name: 'edm',
    parametrization: 'edm',
    usesTarget: false,
    step: (run, x, labels) => ({ loss: run.optimizer.minimize(edmLoss(withLabels(run.denoiser(run.model), labels), x, run.generator).loss), n: 0 }),
    sample: (run, count, generator, s) => edmSample(run.denoiser(run.ema), {
      count, shape: run.imageShape, generator, steps: s.heunSteps ?? 18, batch: s.batch, labels: s.labels,
    }),
    metadata: () => ({}),
  },
  cd: {
    name: 'cd',
    parametrization: 'official',
    usesTarget: true,
    step: (run, x, labels) => {
      const { intervals, targetEma, distance } = run.cd;
      return cdStep({
        teacher: withLabels(run.teacher!, labels), student: withLabels(run.consistency(run.model), labels),
        target: withLabels(run.consistency(run.target), labels), generator: run.generator,
        intervals, distance, model: run.model, targetModel: run.target, optimizer: run.optimizer, mu: targetEma,
      }, x);
    },
    sample: (run, count, generator, s) => sample(run.consistency(run.ema), {
      count, shape: run.imageShape, generator, sigmas: s.sigmas, batch: s.batch, labels: s.labels,
    }),
    metadata: (c) => ({ teacher: c.teacher!, intervals: String(c.intervals ?? CD_DEFAULTS.intervals), distance: c.distance ?? CD_DEFAULTS.distance }),
  },
};
