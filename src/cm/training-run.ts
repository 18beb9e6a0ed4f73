import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad-mode';
import { BatchSampler, gatherImages, type ImageDataset } from '../data/dataset';
import { ConfigError, FormatError } from '../errors';
import { decodeSafetensors, encodeSafetensors, fileTensors, type TensorRecord } from '../io/safetensors';
import { AdamW } from '../optim/adamw';
import { unetLayout } from '../nn/unet';
import { emaUpdate } from '../optim/ema';
import type { RawTensor } from '../tensor/raw';
import { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { isTrainingCheckpoint, joinCheckpoint, metadataJson, metadataNumber, runSchedule, splitCheckpoint, TRAINING_CHECKPOINT_FORMAT, type RunSchedule } from './checkpoint';
import { validateTrainConfig, type TrainConfig } from './config';
import { consistencyModelFrom, teacherFrom, type WeightsFile } from './load';
import { withOfficialQkvLayout } from './qkv-layout';
import { buildNetwork, networkSpecOf, specMetadata, type Network, type NetworkSpec } from './network';
import { DEFAULT_C_NOISE_SCALE, isDenoiserParametrization, scalesTimeInput } from './parametrization';
import { RECIPES, type RecipeRun, type RecipeState, type SampleSettings, type TrainingRecipe } from './recipes/index';
import type { StepResult } from './train';
import type { ImageDrawer } from '../metrics/evaluate';

/** Tensors and metadata of a .safetensors file to write (encodeSafetensors makes its bytes). */
export interface SafetensorsRecord {
  tensors: Record<string, Tensor | TensorRecord>;
  metadata: Record<string, string>;
}

export interface TrainingRunOptions {
  /** false: leave config.init unread (a resume restores the weights from its checkpoint). */
  loadInit?: boolean;
  /** The weights files the run reads by name (config.init, a recipe's teacher); Node's Trainer reads them from disk. */
  weights?: (name: string) => WeightsFile;
}

/** A training checkpoint's metadata, read and checked before the run is rebuilt from it. */
export interface CheckpointSummary {
  config: TrainConfig;
  step: number;
  /** The dataset the run trained on (metadata `dataset`: mnist-train, fashion-mnist, folder:DIR, ...). */
  dataset: string;
  channels: number;
  height: number;
  classNames: string[] | undefined;
}

/** Throws unless `metadata` is a training checkpoint's; its config, step, dataset and classes. */
export function checkpointSummary(source: string, metadata: Record<string, string>): CheckpointSummary {
  if (!isTrainingCheckpoint(metadata)) {
    throw new FormatError(source, `${source} is not a training checkpoint of this version (format '${metadata.format ?? 'none'}'); resume from a file written by \`train\` (checkpoint.safetensors), not an exported model.`);
  }
  const config = metadataJson<TrainConfig>(source, metadata, 'config');
  if (config === undefined) throw new FormatError(source, `${source}: its metadata 'config' is missing; the checkpoint is damaged or was not written by onestep.`);
  const count = (key: string, fallback?: number) => metadataNumber(source, metadata, key, fallback, (x) => Number.isInteger(x) && x >= 0);
  return {
    config, step: count('step'), dataset: metadata.dataset ?? 'mnist', channels: count('channels', 1), height: count('height', 32),
    classNames: metadataJson<string[]>(source, metadata, 'class_names'),
  };
}

/**
 * A training run of a SimpleUNet or UNet under one recipe (src/cm/recipes) on a dataset object:
 * the loop's pieces (the model, the EMA copies for sampling, AdamW, the batch order and the random
 * stream) and the recipe's state (a target network, a teacher), all saved to and restored from
 * the bytes of one safetensors checkpoint (checkpoint.ts), so a resumed run continues exactly
 * where it stopped. No file system: it runs in Node and in a browser; Node's Trainer (trainer.ts)
 * adds files.
 */
export class TrainingRun implements RecipeRun {
  readonly recipe: TrainingRecipe;
  /** What the recipe keeps for the run (its target network is saved with the checkpoint). */
  readonly state: RecipeState;
  readonly model: Network;
  readonly ema: Network;
  /** The extra EMA copies, in the order of config.extraEmaRates. */
  readonly extraEmas: Network[];
  readonly optimizer: AdamW;
  readonly sampler: BatchSampler;
  readonly generator: Generator;
  step = 0;
  /**
   * Seconds spent training so far, over every resumed part of the run (runTraining counts them,
   * leaving out its learning-curve measurements; saved in the checkpoint).
   */
  trainSeconds = 0;
  /** The run's cadences, saved in the checkpoint and read back by resume (checkpoint.ts). */
  schedule: RunSchedule = {};

  /** Classes of a class-conditional run (from the dataset's labels), else undefined. */
  readonly numClasses: number | undefined;

  private readonly weightsSource: ((name: string) => WeightsFile) | undefined;

  constructor(readonly config: TrainConfig, readonly dataset: ImageDataset, options: TrainingRunOptions = {}) {
    validateTrainConfig(config);
    this.weightsSource = options.weights;
    this.recipe = RECIPES[config.recipe] as TrainingRecipe;
    // SimpleUNet halves the image twice; the UNet once per extra level
    const halvings = (config.model ?? 'SimpleUNet') === 'SimpleUNet' ? 2 : (config.unet?.channelMult?.length ?? 3) - 1;
    if (dataset.height % 2 ** halvings !== 0 || dataset.width % 2 ** halvings !== 0) {
      throw new ConfigError('size', `size: the ${config.model ?? 'SimpleUNet'} needs images whose sides are multiples of ${2 ** halvings}; ${dataset.name} has ${dataset.height}x${dataset.width} (choose another size).`);
    }
    if (config.classConditional) {
      if (!dataset.labels) {
        throw new ConfigError('classConditional', `classConditional needs labels, and the dataset ${dataset.name} has none; use a labelled dataset (mnist, fashion, a folder of one subfolder per class).`);
      }
      this.numClasses = dataset.classNames?.length ?? dataset.labels.reduce((k, label) => Math.max(k, label + 1), 0);
    }
    this.model = this.newNetwork();
    this.ema = this.newNetwork().eval();
    this.extraEmas = (config.extraEmaRates ?? []).map(() => this.newNetwork().eval());
    this.optimizer = new AdamW(this.model.parameters(), {
      lr: config.lr, weightDecay: 0, warmupSteps: config.warmupSteps ?? 0, maxGradNorm: config.maxGradNorm ?? Infinity,
    });
    this.sampler = new BatchSampler(dataset.count, config.batch, config.seed);
    this.generator = new Generator(config.seed + 1);
    this.state = this.recipe.start(this);
    if (this.state.startWeights) this.startFrom(this.state.startWeights.stateDict());
    if (config.init && options.loadInit !== false) this.startFrom(this.initialWeights(config.init));
  }

  /** A new network of the run's kind, initialised from the run's seed (as the model was). */
  newNetwork(): Network {
    return buildNetwork(this.spec, { generator: new Generator(this.config.seed) });
  }

  /** A weights file the run reads by name (config.init, a recipe's teacher): from options.weights. */
  readWeights(name: string): WeightsFile {
    if (!this.weightsSource) throw new ConfigError('weights', `the run reads the weights file ${name} and was given no way to read it: pass options.weights (a function from the name to the file's tensors and metadata).`);
    return this.weightsSource(name);
  }

  /** The batch order's epoch. */
  get epoch(): number {
    return this.sampler.state.epoch;
  }

  /** Puts `weights` into the model and every copy of it (EMA copies, a recipe's target). */
  private startFrom(weights: Record<string, Tensor>): void {
    for (const net of [this.model, this.ema, ...(this.state.target ? [this.state.target] : []), ...this.extraEmas]) net.loadStateDict(weights);
  }

  /**
   * The weights of an init file: an EDM teacher, or a model of this recipe's parametrization, the same network as this
   * run's with the same time input. An unconditional file may start a class-conditional run: the file gives every weight
   * but the label embedding, which starts as a new network's (random, as the time embedding's scale). Started at zero
   * instead (every class the unconditional model), an MNIST teacher had learnt no class after 3,000 steps (README).
   */
  private initialWeights(path: string): Record<string, Tensor> {
    const file = this.readWeights(path);
    const teacher = isDenoiserParametrization(file.metadata.parametrization) ? teacherFrom(path, file) : null;
    const loaded = teacher ?? consistencyModelFrom(path, file);
    const parametrization = loaded.metadata.parametrization ?? 'community';
    if (!teacher && parametrization !== this.recipe.parametrization) {
      throw new FormatError(path, `the init file ${path} is a consistency model of the ${parametrization} parametrization; recipe ${this.config.recipe} trains the ${this.recipe.parametrization} one (start from an EDM teacher or a model of that recipe).`);
    }
    const cNoiseScale = metadataNumber(path, loaded.metadata, 'c_noise_scale', DEFAULT_C_NOISE_SCALE, (x) => x > 0);
    if (scalesTimeInput(parametrization) && cNoiseScale !== this.config.cNoiseScale) {
      throw new FormatError(path, `the init file ${path} was trained with the time input ${cNoiseScale} ln(sigma); this run's is ${this.config.cNoiseScale} ln(sigma) (set cNoiseScale to ${cNoiseScale}).`);
    }
    const spec = networkSpecOf(loaded.model);
    const fromUnconditional = this.numClasses !== undefined && spec.numClasses === undefined;
    this.checkSameNetwork(path, 'init file', fromUnconditional ? { ...spec, numClasses: this.numClasses } : spec, fromUnconditional ? this.classNames : loaded.classNames);
    const weights = loaded.model.stateDict();
    // the model still holds the seed's initial weights (a recipe's startWeights and init exclude each other)
    if (fromUnconditional) for (const [name, p] of this.model.namedParameters()) if (!(name in weights)) weights[name] = p;
    return weights;
  }

  /** Throws a FormatError unless a file's network is this run's (model, width, channels, classes, the UNet's layout). */
  checkSameNetwork(path: string, what: string, other: NetworkSpec, classNames: string[] | undefined): void {
    const spec = this.spec;
    // the UNet's layout: what its weights are and mean (dropout is not part of it)
    const unet = (x: NetworkSpec) => {
      if (x.model !== 'UNet') return '';
      return JSON.stringify(unetLayout(x.unet ?? {}));
    };
    if (other.model !== spec.model || other.width !== spec.width || other.channels !== spec.channels || other.numClasses !== spec.numClasses || unet(other) !== unet(spec)) {
      const classes = (k: number | undefined) => (k ? `, conditional on ${k} classes` : '');
      throw new FormatError(path,
        `the ${what} ${path} is a ${other.model} of width ${other.width} on ${other.channels} channel(s)${classes(other.numClasses)}` +
          `${other.model === 'UNet' ? ` (UNet settings ${unet(other)})` : ''}; this run's network must match it (model, width, dataset, classConditional${other.model === 'UNet' ? ', the UNet settings' : ''}).`);
    }
    if (spec.numClasses && JSON.stringify(classNames) !== JSON.stringify(this.classNames)) {
      throw new FormatError(path, `the ${what} ${path} knows the classes ${classNames?.join(', ')}; this dataset's are ${this.classNames!.join(', ')}.`);
    }
  }

  get spec(): NetworkSpec {
    return {
      model: this.config.model ?? 'SimpleUNet', channels: this.dataset.channels, width: this.config.width, unet: this.config.unet,
      ...(this.numClasses ? { numClasses: this.numClasses } : {}),
    };
  }

  /** A class-conditional run's class names (the dataset's, else the labels as numbers). */
  get classNames(): string[] | undefined {
    return this.numClasses ? this.dataset.classNames ?? Array.from({ length: this.numClasses }, (_, k) => String(k)) : undefined;
  }

  get imageShape(): [number, number, number] {
    return [this.dataset.channels, this.dataset.height, this.dataset.width];
  }

  get epochs(): number {
    return Math.max(1, Math.ceil((this.config.steps * this.config.batch) / this.dataset.count));
  }

  /** The learning rate of the step about to run (before warm-up, which the optimiser applies). */
  learningRate(): number {
    const { lr, lrDecay, steps } = this.config;
    return lrDecay === 'cosine' ? (lr * (1 + Math.cos((Math.PI * this.step) / steps))) / 2 : lr;
  }

  trainStep(): StepResult {
    return tidy(() => {
      this.optimizer.lr = this.learningRate();
      const indices = this.sampler.next();
      const result = this.recipe.step(this, this.state, gatherImages(this.dataset, indices), this.batchLabels(indices));
      noGrad(() => {
        emaUpdate(this.ema.parameters(), this.model.parameters(), this.config.emaRate);
        this.extraEmas.forEach((e, i) => emaUpdate(e.parameters(), this.model.parameters(), this.config.extraEmaRates![i]!));
      });
      this.step++;
      return result;
    });
  }

  /** A class-conditional run's labels for a batch: each replaced by K ("no label") at the labelDropout rate (draws from the run's generator). */
  batchLabels(indices: ArrayLike<number>): number[] | undefined {
    const K = this.numClasses;
    if (!K) return undefined;
    const dropout = this.config.labelDropout ?? 0.1;
    return Array.from(indices, (k) => (this.generator.uniform() < dropout ? K : this.dataset.labels![k]!));
  }

  /**
   * Samples from the EMA copy: one step by default, or through `sigmas`; an edm run samples its
   * denoiser with EDM's Heun sampler in `heunSteps` steps (default 18).
   */
  sample(count: number, seed: number | Generator, settings: SampleSettings = {}): Tensor {
    return this.recipe.sample(this, this.ema, count, typeof seed === 'number' ? new Generator(seed) : seed, settings);
  }

  /**
   * The EMA copy as something eval draws from (an ImageDrawer: metrics/evaluate.ts), sampled with
   * `settings` (noise levels or Heun steps).
   */
  drawer(settings: Omit<SampleSettings, 'labels' | 'batch'> = {}): ImageDrawer {
    return { shape: this.imageShape, draw: (count, generator, batch, labels) => this.sample(count, generator, { ...settings, batch, labels }) };
  }

  metadata(): Record<string, string> {
    return {
      ...specMetadata(this.spec),
      height: String(this.dataset.height),
      parametrization: this.recipe.parametrization,
      c_noise_scale: String(this.config.cNoiseScale),
      dataset: this.dataset.name,
      ...(this.numClasses ? { class_names: JSON.stringify(this.classNames) } : {}),
      ...(this.config.init ? { init: this.config.init } : {}),
      ...this.recipe.metadata(this.config),
    };
  }

  /** Everything needed to resume: the checkpoint's tensors and metadata. */
  checkpointRecord(): SafetensorsRecord {
    const record = (raw: RawTensor | undefined): TensorRecord[] => (raw ? [{ dtype: 'F32', shape: [...raw.shape], data: raw.read() }] : []);
    const { m, v } = this.optimizer.moments();
    const named = this.model.namedParameters();
    const tensors = joinCheckpoint<Tensor | TensorRecord>({
      model: Object.fromEntries(named),
      ema: Object.fromEntries(this.ema.namedParameters()),
      extraEmas: new Map(this.extraEmas.map((e, i) => [String(this.config.extraEmaRates![i]), Object.fromEntries(e.namedParameters())])),
      target: this.state.target ? Object.fromEntries(this.state.target.namedParameters()) : {},
      optimizerM: Object.fromEntries(named.flatMap(([name], i) => record(m[i]).map((r) => [name, r]))),
      optimizerV: Object.fromEntries(named.flatMap(([name], i) => record(v[i]).map((r) => [name, r]))),
    });
    return { tensors, metadata: {
      ...this.metadata(),
      format: TRAINING_CHECKPOINT_FORMAT,
      step: String(this.step),
      config: JSON.stringify(this.config),
      sampler: JSON.stringify(this.sampler.state),
      generator: JSON.stringify(this.generator.getState().map((x) => (Number.isNaN(x) ? null : x))),
      optimizer_step: String(this.optimizer.step_),
      train_seconds: this.trainSeconds.toFixed(3),
      ...(Object.keys(this.schedule).length ? { schedule: JSON.stringify(this.schedule) } : {}),
    } };
  }

  /** The checkpoint as the bytes of a .safetensors file (what Node's Trainer.save writes). */
  checkpointBytes(): Uint8Array {
    const { tensors, metadata } = this.checkpointRecord();
    return encodeSafetensors(tensors, metadata);
  }

  /** One EMA copy (the primary one unless `rate` names an extra one) under the model's own names, with the model's metadata. */
  emaRecord(rate = this.config.emaRate): SafetensorsRecord {
    const k = (this.config.extraEmaRates ?? []).indexOf(rate);
    const copy = rate === this.config.emaRate ? this.ema : this.extraEmas[k];
    if (!copy) throw new Error(`exportEma: no EMA copy at rate ${rate}; this run keeps ${[this.config.emaRate, ...(this.config.extraEmaRates ?? [])].join(', ')}.`);
    return { tensors: copy.stateDict(), metadata: { ...this.metadata(), step: String(this.step), ema_rate: String(rate) } };
  }

  /** emaRecord as the bytes of a .safetensors file (what `sample --ckpt` and PyTorch's safetensors load). */
  emaBytes(rate = this.config.emaRate): Uint8Array {
    const { tensors, metadata } = this.emaRecord(rate);
    return encodeSafetensors(tensors, metadata);
  }

  /**
   * Rebuilds a run from the bytes of a checkpoint (checkpointBytes; `source` names it in errors) on
   * `dataset`, or on the dataset that `dataset(summary)` gives for the one the checkpoint names.
   */
  static fromCheckpoint(
    bytes: Uint8Array, source: string, dataset: ImageDataset | ((summary: CheckpointSummary) => ImageDataset),
    overrides: Partial<Pick<TrainConfig, 'steps'>> = {}, options: Omit<TrainingRunOptions, 'loadInit'> = {},
  ): TrainingRun {
    const file = decodeSafetensors(bytes, source);
    return resumeRun(source, { tensors: fileTensors(file), metadata: file.metadata }, dataset, overrides, (config, data) => new TrainingRun(config, data, { ...options, loadInit: false }));
  }
}

/**
 * A run of `make`'s class rebuilt from a checkpoint's tensors and metadata (`source` names it in
 * errors): the configuration (steps from `overrides`), weights, optimiser moments, batch order,
 * random stream, step, training time and cadences.
 */
export function resumeRun<T extends TrainingRun>(
  source: string, { tensors, metadata }: WeightsFile, dataset: ImageDataset | ((summary: CheckpointSummary) => ImageDataset),
  overrides: Partial<Pick<TrainConfig, 'steps'>>, make: (config: TrainConfig, dataset: ImageDataset) => T,
): T {
  const summary = checkpointSummary(source, metadata);
  const json = <V>(key: string): V => {
    const value = metadataJson<V>(source, metadata, key);
    if (value === undefined) throw new FormatError(source, `${source}: its metadata '${key}' is missing; the checkpoint is damaged or was not written by onestep.`);
    return value;
  };
  const count = (key: string, fallback?: number) => metadataNumber(source, metadata, key, fallback, (x) => Number.isInteger(x) && x >= 0);
  const config = { ...summary.config, ...overrides };
  const data = typeof dataset === 'function' ? dataset(summary) : dataset;
  const trainer = make(config, data);
  const classes = trainer.metadata().class_names;
  if ((metadata.class_names ?? null) !== (classes ?? null)) {
    throw new FormatError(source, `${source} was trained on the classes ${metadata.class_names ?? '(none)'}; the dataset ${data.name} now gives ${classes ?? '(none)'}: resume on the same classes.`);
  }
  const parts = splitCheckpoint(withOfficialQkvLayout(source, tensors, metadata));
  const restore = (what: string, net: Network, weights: Record<string, Tensor>) => {
    try {
      net.loadStateDict(weights);
    } catch (e) {
      throw new FormatError(source, `${source}: its ${what} does not fit the run's model: ${(e as Error).message}`);
    }
  };
  restore('model', trainer.model, parts.model);
  restore('EMA copy', trainer.ema, parts.ema);
  trainer.extraEmas.forEach((e, i) => restore(`EMA copy at ${config.extraEmaRates![i]}`, e, parts.extraEmas.get(String(config.extraEmaRates![i])) ?? {}));
  if (trainer.state.target) restore('target network', trainer.state.target, parts.target);
  const names = trainer.model.namedParameters().map(([n]) => n);
  trainer.optimizer.restore(count('optimizer_step'), names.map((n) => parts.optimizerM[n]?.raw), names.map((n) => parts.optimizerV[n]?.raw));
  trainer.step = count('step');
  // checkpoints from before the learning curve have no train_seconds
  trainer.trainSeconds = metadataNumber(source, metadata, 'train_seconds', 0, (x) => Number.isFinite(x) && x >= 0);
  trainer.sampler.state = json('sampler');
  trainer.generator.setState(json<(number | null)[]>('generator').map((x) => (x === null ? NaN : x)));
  trainer.schedule = runSchedule(source, metadataJson<unknown>(source, metadata, 'schedule'));
  return trainer;
}
