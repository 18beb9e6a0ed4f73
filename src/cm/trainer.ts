import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad-mode';
import { BatchSampler, gatherImages, type ImageDataset } from '../data/dataset';
import { loadSafetensors, saveSafetensors, type TensorRecord } from '../io/safetensors';
import { UNet, type UNetConfig } from '../nn/unet';
import { AdamW } from '../optim/adamw';
import { emaUpdate } from '../optim/ema';
import type { RawTensor } from '../tensor/raw';
import { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { buildNetwork, networkBody, networkConsistency, specMetadata, type ModelKind, type Network, type NetworkSpec } from './network';
import type { ConsistencyFunction, Parametrization } from './parametrization';
import { sample } from './sample';
import { ctStep, type Recipe, type StepResult } from './train';
import { cdStep, type Distance } from './distill';
import { type Denoiser, edmDenoiser, edmLoss, edmSample } from './edm';
import { loadTeacher } from './load';

/**
 * ict / ect / seed: consistency training (train.ts); edm: the EDM teacher (a denoiser, edm.ts); cd:
 * consistency distillation from a teacher file (distill.ts), the student initialised from it.
 */
export type TrainRecipe = Recipe | 'edm' | 'cd';

export interface TrainConfig {
  recipe: TrainRecipe;
  /** SimpleUNet (default) or the ADM-style UNet (recipe ict only). */
  model?: ModelKind;
  /** SimpleUNet's D or the UNet's modelChannels. */
  width: number;
  /** The UNet's other settings (channel multipliers, attention, dropout, ...). */
  unet?: Partial<UNetConfig>;
  batch: number;
  /** Total optimiser steps of the run (the ict curriculum is laid out over them). */
  steps: number;
  lr: number;
  seed: number;
  /** EMA rate of the copy used for sampling (and for the grids). */
  emaRate: number;
  /** Further EMA copies kept alongside, at these rates (the official code keeps 0.999 and 0.9999). */
  extraEmaRates?: number[];
  /** Multiplies ln(sigma) into the network's time input under the official parametrization. */
  cNoiseScale: number;
  /** ict: the curriculum's cap on the number of intervals (the paper's s1 = 1280). */
  maxIntervals?: number;
  /** ect: the number of stages; the gap between the two noise levels halves at each (default 6). */
  ectStages?: number;
  /** Linear learning-rate warm-up over this many steps (0: none). */
  warmupSteps?: number;
  /** Clip gradients to this global norm (absent: no clipping). */
  maxGradNorm?: number;
  /** 'cosine': lr * (1 + cos(pi step / steps)) / 2 after warm-up; 'none' (default): constant. */
  lrDecay?: 'none' | 'cosine';
  /** cd: the teacher's weights (an `edm` run's exported EMA file). */
  teacher?: string;
  /** cd: N, the levels of the Karras grid (official: 18 for CIFAR-10, 40 for ImageNet-64). */
  intervals?: number;
  /** cd: the target network's fixed EMA rate mu (default 0.95; official: 0 for CIFAR-10, 0.95 for ImageNet-64). */
  targetEma?: number;
  /** cd: the distance d (default pseudo-huber). */
  distance?: Distance;
}

export const DEFAULT_C_NOISE_SCALE = 250;

const FORMAT = 'onestep-ct-checkpoint-1';

/**
 * A consistency-training run of a SimpleUNet or UNet: model, EMA copy for sampling, the seed recipe's
 * target network, AdamW, the batch order and the random stream, all saved to and restored from
 * one safetensors checkpoint, so a resumed run continues exactly where it stopped.
 */
export class Trainer {
  readonly model: Network;
  readonly ema: Network;
  /** The extra EMA copies, in the order of config.extraEmaRates. */
  readonly extraEmas: Network[];
  /** The seed recipe's target network (EMA at the schedule's rate mu); unused by ict. */
  readonly target: Network;
  readonly optimizer: AdamW;
  readonly sampler: BatchSampler;
  readonly generator: Generator;
  step = 0;

  constructor(readonly config: TrainConfig, readonly dataset: ImageDataset) {
    if (!(config.steps >= 1) || !Number.isInteger(config.steps)) throw new Error(`Trainer: steps must be a positive integer, got ${config.steps}.`);
    if (!(config.lr > 0)) throw new Error(`Trainer: learning rate must be positive, got ${config.lr}.`);
    if (config.lrDecay !== undefined && config.lrDecay !== 'none' && config.lrDecay !== 'cosine') {
      throw new Error(`Trainer: lrDecay must be 'none' or 'cosine', got '${config.lrDecay}'.`);
    }
    if (!(config.emaRate >= 0 && config.emaRate < 1)) throw new Error(`Trainer: EMA rate must be in [0, 1), got ${config.emaRate}.`);
    if (config.model === 'UNet' && config.recipe === 'seed') throw new Error("Trainer: the UNet has no community parametrization; use recipe 'ict', 'edm' or 'cd'.");
    if (!['ict', 'ect', 'seed', 'edm', 'cd'].includes(config.recipe)) throw new Error(`Trainer: recipe must be ict, ect, seed, edm or cd, got '${config.recipe}'.`);
    if (config.ectStages !== undefined && !(Number.isInteger(config.ectStages) && config.ectStages >= 1)) {
      throw new Error(`Trainer: ectStages must be a positive integer, got ${config.ectStages}.`);
    }
    if (config.recipe === 'cd') {
      if (!config.teacher) throw new Error('Trainer: recipe cd needs a teacher file (train one with recipe edm).');
      const { intervals, targetEma } = this.cd;
      if (!(Number.isInteger(intervals) && intervals >= 2)) throw new Error(`Trainer: intervals must be an integer >= 2, got ${intervals}.`);
      if (!(targetEma >= 0 && targetEma < 1)) throw new Error(`Trainer: the target EMA rate must be in [0, 1), got ${targetEma}.`);
    }
    const make = () => buildNetwork(this.spec, { generator: new Generator(config.seed) });
    this.model = make();
    this.ema = make().eval();
    const extra = config.extraEmaRates ?? [];
    if (extra.some((r) => !(r >= 0 && r < 1))) throw new Error(`Trainer: EMA rates must be in [0, 1), got [${extra}].`);
    this.extraEmas = extra.map(() => make().eval());
    this.target = make();
    this.optimizer = new AdamW(this.model.parameters(), {
      lr: config.lr, weightDecay: 0, warmupSteps: config.warmupSteps ?? 0, maxGradNorm: config.maxGradNorm ?? Infinity,
    });
    this.sampler = new BatchSampler(dataset.count, config.batch, config.seed);
    this.generator = new Generator(config.seed + 1);
    if (config.recipe === 'cd') {
      const teacher = loadTeacher(config.teacher!);
      const spec = this.spec;
      if (teacher.spec.model !== spec.model || teacher.spec.width !== spec.width || teacher.spec.channels !== spec.channels) {
        throw new Error(
          `Trainer: the teacher ${config.teacher} is a ${teacher.spec.model} of width ${teacher.spec.width} on ${teacher.spec.channels} channel(s); ` +
            `the student must match it (--model, --width, --dataset).`,
        );
      }
      this.teacher = teacher.denoiser;
      // the student starts from the teacher's weights, as the official code does
      const weights = teacher.model.stateDict();
      for (const net of [this.model, this.ema, this.target, ...this.extraEmas]) net.loadStateDict(weights);
    }
  }

  /** cd: the teacher's denoiser (frozen). */
  readonly teacher: Denoiser | null = null;

  get spec(): NetworkSpec {
    return { model: this.config.model ?? 'SimpleUNet', channels: this.dataset.channels, width: this.config.width, unet: this.config.unet };
  }

  get parametrization(): Parametrization | 'edm' {
    const r = this.config.recipe;
    return r === 'seed' ? 'community' : r === 'edm' ? 'edm' : 'official';
  }

  /** The EDM denoiser of a network (recipe edm). */
  denoiser(model: Network): Denoiser {
    return edmDenoiser(networkBody(model), this.config.cNoiseScale);
  }

  consistency(model: Network): ConsistencyFunction {
    const p = this.parametrization;
    if (p === 'edm') throw new Error('Trainer: an edm run trains a denoiser, not a consistency function; use denoiser().');
    return networkConsistency(model, p, this.config.cNoiseScale);
  }

  /** The distillation settings with their defaults (N = 18, mu = 0.95, pseudo-Huber). */
  get cd(): { intervals: number; targetEma: number; distance: Distance } {
    const c = this.config;
    return { intervals: c.intervals ?? 18, targetEma: c.targetEma ?? 0.95, distance: c.distance ?? 'pseudo-huber' };
  }

  /** Whether the run keeps a target network (seed and cd). */
  get usesTarget(): boolean {
    return this.config.recipe === 'seed' || this.config.recipe === 'cd';
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
    return tidy(() => this.runStep());
  }

  private runStep(): StepResult {
    this.optimizer.lr = this.learningRate();
    const x = gatherImages(this.dataset, this.sampler.next());
    const result = this.config.recipe === 'edm' ? this.teacherStep(x) : this.config.recipe === 'cd' ? this.distillStep(x) : this.consistencyStep(x);
    noGrad(() => {
      emaUpdate(this.ema.parameters(), this.model.parameters(), this.config.emaRate);
      this.extraEmas.forEach((e, i) => emaUpdate(e.parameters(), this.model.parameters(), this.config.extraEmaRates![i]!));
    });
    this.step++;
    return result;
  }

  private teacherStep(x: Tensor): StepResult {
    return { loss: this.optimizer.minimize(edmLoss(this.denoiser(this.model), x, this.generator).loss), n: 0 };
  }

  private distillStep(x: Tensor): StepResult {
    return cdStep({
      teacher: this.teacher!, student: this.consistency(this.model), target: this.consistency(this.target), generator: this.generator,
      intervals: this.cd.intervals, distance: this.cd.distance,
      model: this.model, targetModel: this.target, optimizer: this.optimizer, mu: this.cd.targetEma,
    }, x);
  }

  private consistencyStep(x: Tensor): StepResult {
    return ctStep(
      {
        recipe: this.config.recipe as Recipe, student: this.consistency(this.model), target: this.consistency(this.target),
        targetModel: this.target, model: this.model, optimizer: this.optimizer, generator: this.generator,
        totalSteps: this.config.steps, epoch: this.sampler.state.epoch, epochs: this.epochs,
        maxIntervals: this.config.maxIntervals, ectStages: this.config.ectStages,
        setDropoutSeed: this.model instanceof UNet ? (seed) => (this.model as UNet).setDropoutSeed(seed) : undefined,
      },
      x,
      this.step,
    );
  }

  /**
   * Samples from the EMA copy: one step by default, or through the given noise levels; an edm run
   * samples its denoiser with EDM's Heun sampler in `heunSteps` steps instead.
   */
  sample(count: number, seed: number, sigmas?: number[], heunSteps = 18): Tensor {
    const { channels, height, width } = this.dataset;
    const shape: [number, number, number] = [channels, height, width];
    if (this.config.recipe === 'edm') return edmSample(this.denoiser(this.ema), { count, shape, generator: new Generator(seed), steps: heunSteps });
    return sample(this.consistency(this.ema), { count, shape, generator: new Generator(seed), sigmas });
  }

  metadata(): Record<string, string> {
    return {
      ...specMetadata(this.spec),
      height: String(this.dataset.height),
      parametrization: this.parametrization,
      c_noise_scale: String(this.config.cNoiseScale),
      dataset: this.dataset.name,
      ...(this.config.recipe === 'cd'
        ? { teacher: this.config.teacher!, intervals: String(this.cd.intervals), distance: this.cd.distance }
        : {}),
    };
  }

  /** Writes everything needed to resume (atomically: temporary file, then rename). */
  save(path: string): void {
    const tensors: Record<string, Tensor | TensorRecord> = {};
    const record = (raw: RawTensor): TensorRecord => ({ dtype: 'F32', shape: [...raw.shape], data: raw.read() });
    const { m, v } = this.optimizer.moments();
    this.model.namedParameters().forEach(([name, p], i) => {
      tensors[name] = p;
      if (m[i]) tensors[`optimizer.m.${name}`] = record(m[i]!);
      if (v[i]) tensors[`optimizer.v.${name}`] = record(v[i]!);
    });
    for (const [name, p] of this.ema.namedParameters()) tensors[`ema.${name}`] = p;
    this.extraEmas.forEach((e, i) => {
      for (const [name, p] of e.namedParameters()) tensors[`ema@${this.config.extraEmaRates![i]}.${name}`] = p;
    });
    if (this.usesTarget) for (const [name, p] of this.target.namedParameters()) tensors[`target.${name}`] = p;
    saveSafetensors(path, tensors, {
      ...this.metadata(),
      format: FORMAT,
      step: String(this.step),
      config: JSON.stringify(this.config),
      sampler: JSON.stringify(this.sampler.state),
      generator: JSON.stringify(this.generator.getState().map((x) => (Number.isNaN(x) ? null : x))),
      optimizer_step: String(this.optimizer.step_),
    });
  }

  /** Writes one EMA copy (the primary one unless `rate` names an extra one) under the model's own names. */
  exportEma(path: string, rate = this.config.emaRate): void {
    const k = (this.config.extraEmaRates ?? []).indexOf(rate);
    const copy = rate === this.config.emaRate ? this.ema : this.extraEmas[k];
    if (!copy) throw new Error(`exportEma: no EMA copy at rate ${rate}; this run keeps ${[this.config.emaRate, ...(this.config.extraEmaRates ?? [])].join(', ')}.`);
    saveSafetensors(path, copy.stateDict(), { ...this.metadata(), step: String(this.step), ema_rate: String(rate) });
  }

  /** Rebuilds a run from a checkpoint written by save(), on the same dataset. */
  static resume(path: string, dataset: ImageDataset, overrides: Partial<Pick<TrainConfig, 'steps'>> = {}): Trainer {
    const { tensors, metadata } = loadSafetensors(path);
    if (metadata.format !== FORMAT) {
      throw new Error(`resume: ${path} is not a training checkpoint of this version (format '${metadata.format ?? 'none'}'); pass a file written by \`train\` (checkpoint.safetensors), not an exported model.`);
    }
    const config = { ...(JSON.parse(metadata.config!) as TrainConfig), ...overrides };
    const trainer = new Trainer(config, dataset);
    const pick = (prefix: string) => Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
    const own = Object.fromEntries(Object.entries(tensors).filter(([k]) => !/^(ema|target|optimizer)\./.test(k) && !k.startsWith('ema@')));
    trainer.model.loadStateDict(own);
    trainer.ema.loadStateDict(pick('ema.'));
    trainer.extraEmas.forEach((e, i) => e.loadStateDict(pick(`ema@${config.extraEmaRates![i]}.`)));
    if (trainer.usesTarget) trainer.target.loadStateDict(pick('target.'));
    const names = trainer.model.namedParameters().map(([n]) => n);
    trainer.optimizer.restore(
      Number(metadata.optimizer_step),
      names.map((n) => tensors[`optimizer.m.${n}`]?.raw),
      names.map((n) => tensors[`optimizer.v.${n}`]?.raw),
    );
    trainer.step = Number(metadata.step);
    trainer.sampler.state = JSON.parse(metadata.sampler!);
    trainer.generator.setState((JSON.parse(metadata.generator!) as (number | null)[]).map((x) => (x === null ? NaN : x)));
    return trainer;
  }
}
