// What a training recipe is (one object per recipe, as a diffusers scheduler carries its config and
// its step): its defaults and checks, its CLI flags, its state, its step, its samplers, its export.
// The Trainer (../trainer.ts) keeps only the loop: data, optimiser, EMA copies, checkpoints.
import type { UNetConfig } from '../../nn/unet';
import type { AdamW } from '../../optim/adamw';
import type { Generator } from '../../tensor/random';
import type { Tensor } from '../../tensor/tensor';
import type { WeightsFile } from '../load';
import type { ModelKind, Network, NetworkSpec } from '../network';
import type { Parametrization } from '../parametrization';
import type { StepResult } from '../train';

/** The settings every recipe reads (TrainConfig adds each recipe's own: src/cm/config.ts). */
export interface BaseTrainConfig {
  /** The recipe's name (a key of RECIPES). */
  recipe: string;
  /** SimpleUNet (default) or the ADM-style UNet. */
  model?: ModelKind;
  /** SimpleUNet's D or the UNet's modelChannels: a multiple of 32 (GroupNorm's 32 groups). */
  width: number;
  /** The UNet's other settings (channel multipliers, attention, dropout, ...). */
  unet?: Partial<UNetConfig>;
  batch: number;
  /** Total optimiser steps of the run (curricula are laid out over them). */
  steps: number;
  lr: number;
  seed: number;
  /** EMA rate of the copy used for sampling (and for the grids). */
  emaRate: number;
  /** Further EMA copies kept alongside, at these rates (the official code keeps 0.999 and 0.9999). */
  extraEmaRates?: number[];
  /** Multiplies ln(sigma) into the network's time input under the official and EDM parametrizations. */
  cNoiseScale: number;
  /** Linear learning-rate warm-up over this many steps (0: none). */
  warmupSteps?: number;
  /** Clip gradients to this global norm (absent: no clipping). */
  maxGradNorm?: number;
  /** 'cosine': lr * (1 + cos(pi step / steps)) / 2 after warm-up; 'none' (default): constant. */
  lrDecay?: 'none' | 'cosine';
  /**
   * Start the network and its EMA copies from this file's weights instead of at random: an EDM
   * teacher (a diffusion pre-training, as ECT tunes one) or a model the recipe trains (same
   * parametrization).
   */
  init?: string;
  /** Condition the network on the dataset's labels (a label embedding; the dataset must have labels). */
  classConditional?: boolean;
  /** With classConditional: the fraction of labels replaced by "no label" in training (default 0.1). */
  labelDropout?: number;
}

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

/** Throws a ConfigError naming `setting`. */
export type Refuse = (setting: string, message: string) => never;

/** What a recipe sees of a run: the Trainer is one, and a recipe never imports it. */
export interface RecipeRun<C = object> {
  readonly config: BaseTrainConfig & C;
  readonly model: Network;
  readonly optimizer: AdamW;
  /** The run's stream: noise levels, noise, dropout seeds. */
  readonly generator: Generator;
  /** Optimiser steps taken before the one running. */
  readonly step: number;
  /** The batch order's epoch, and the run's number of epochs. */
  readonly epoch: number;
  readonly epochs: number;
  readonly imageShape: [number, number, number];
  /** A new network of the run's kind, initialised as the model was. */
  newNetwork(): Network;
  /** The tensors and metadata of a weights file (Node's Trainer reads it from disk). */
  readWeights(path: string): WeightsFile;
  /** Throws a FormatError unless the network of the file at `path` is this run's. */
  checkSameNetwork(path: string, what: string, spec: NetworkSpec, classNames: string[] | undefined): void;
}

/** What a recipe keeps for a run besides the model and its EMA copies. */
export interface RecipeState {
  /** A target network, saved in checkpoints as `target.*` and restored on resume. */
  readonly target?: Network;
  /** Weights the model and every copy of it start from (cd: the teacher's). */
  readonly startWeights?: Network;
}

/** A flag of the CLI that sets one of a recipe's settings. */
export interface RecipeFlag {
  /** The setting it fills (a key of the recipe's settings). */
  setting: string;
  kind: 'int' | 'number' | 'file' | readonly string[];
  /** A flag the recipe cannot run without: what to give (for the error). */
  required?: string;
  /** Its `--help` text (the default in brackets at the end). */
  help: string;
}

export interface TrainingRecipe<C = object, S extends RecipeState = RecipeState> {
  readonly name: string;
  /** One line: what the recipe trains and how. */
  readonly summary: string;
  /** What the weights mean: a consistency function's parametrization, or an EDM denoiser. Saved as metadata `parametrization`. */
  readonly parametrization: Parametrization | 'edm';
  /** What a run of this recipe starts from when a setting is not given. */
  readonly defaults: Partial<BaseTrainConfig & C> & Pick<BaseTrainConfig, 'steps' | 'lr' | 'lrDecay'>;
  /** Defaults of this recipe's settings written into every configuration, whatever its recipe (kept for checkpoints of earlier versions). */
  readonly settingDefaults?: Partial<C>;
  /** Checks this recipe's settings wherever they are given. */
  checkSettings?(config: BaseTrainConfig & Partial<C>, refuse: Refuse): void;
  /** Checks a configuration that runs this recipe. */
  checkRun?(config: BaseTrainConfig & Partial<C>, refuse: Refuse): void;
  /** The CLI: the command that trains it (train takes --recipe), and the flags of its settings. */
  readonly command: 'train' | 'teacher' | 'distill';
  readonly flags: Readonly<Record<string, RecipeFlag>>;
  /** The progress bar's name for StepResult.n ('N', 'stage'); absent: not shown. */
  readonly progress?: string;
  /** The run's state: a target network, a teacher, weights to start from. */
  start(run: RecipeRun<C>): S;
  /** One optimiser step on a batch x (labels for a class-conditional run); the Trainer updates the EMA copies after it. */
  step(run: RecipeRun<C>, state: S, x: Tensor, labels?: ArrayLike<number>): StepResult;
  /** `count` images from `network` (an EMA copy), the noise drawn from `generator`. */
  sample(run: RecipeRun<C>, network: Network, count: number, generator: Generator, settings: SampleSettings): Tensor;
  /** The samplers of the run's grids, by name (the file names say them). */
  readonly grids: readonly (readonly [string, SampleSettings])[];
  /** The samplers of a learning curve: the grids' or fewer (each point costs their samples). */
  readonly curve: readonly (readonly [string, SampleSettings])[];
  /** The exported EMA copy's file name (the extra copies are ema-RATE.safetensors). */
  readonly exportName: string;
  /** Metadata this recipe adds to checkpoints and exports. */
  metadata(config: BaseTrainConfig & C): Record<string, string>;
}
