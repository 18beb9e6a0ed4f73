import { ConfigError } from '../errors';
import type { UNetConfig } from '../nn/unet';
import type { Distance } from './distill';
import type { ModelKind } from './network';
import { DEFAULT_C_NOISE_SCALE } from './parametrization';
import { DEFAULT_ECT_STAGES } from './train';

/**
 * ict / ect / seed: consistency training (train.ts); edm: the EDM teacher (a denoiser, edm.ts); cd:
 * consistency distillation from a teacher file (distill.ts), the student initialised from it.
 */
export type TrainRecipe = 'ict' | 'ect' | 'seed' | 'edm' | 'cd';

export const TRAIN_RECIPES: readonly TrainRecipe[] = ['ict', 'ect', 'seed', 'edm', 'cd'];

export interface TrainConfig {
  recipe: TrainRecipe;
  /** SimpleUNet (default) or the ADM-style UNet (not with recipe seed). */
  model?: ModelKind;
  /** SimpleUNet's D or the UNet's modelChannels: a multiple of 32 (GroupNorm's 32 groups). */
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
  /** ict: the curriculum's cap on the number of intervals (absent: the paper's s1 = 1280). */
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
  /**
   * Start the network and its EMA copies from this file's weights instead of at random: an EDM
   * teacher (a diffusion pre-training, as ECT tunes one) or a model the recipe trains (same
   * parametrization). Not with cd, which starts from its teacher.
   */
  init?: string;
  /** cd: N, the levels of the Karras grid (official: 18 for CIFAR-10, 40 for ImageNet-64). */
  intervals?: number;
  /** cd: the target network's fixed EMA rate mu (default 0.95; official: 0 for CIFAR-10, 0.95 for ImageNet-64). */
  targetEma?: number;
  /** cd: the distance d (default pseudo-huber). */
  distance?: Distance;
  /** Condition the network on the dataset's labels (a label embedding; the dataset must have labels). */
  classConditional?: boolean;
  /** With classConditional: the fraction of labels replaced by "no label" in training (default 0.1). */
  labelDropout?: number;
}

/** Distillation's settings when not given: N = 18 (CIFAR-10's), mu = 0.95 (ImageNet-64's), pseudo-Huber. */
export const CD_DEFAULTS = { intervals: 18, targetEma: 0.95, distance: 'pseudo-huber' } as const satisfies Pick<TrainConfig, 'intervals' | 'targetEma' | 'distance'>;

/** What each recipe starts from when a setting is not given (the CLI's defaults). */
export const RECIPE_DEFAULTS: Record<TrainRecipe, Pick<TrainConfig, 'steps' | 'lr' | 'lrDecay'>> = {
  ict: { steps: 2400, lr: 1e-3, lrDecay: 'cosine' },
  ect: { steps: 1000, lr: 6e-4, lrDecay: 'none' },
  seed: { steps: 1000, lr: 6e-4, lrDecay: 'none' },
  edm: { steps: 1000, lr: 6e-4, lrDecay: 'none' },
  // lr 6e-4 with mu 0 diverged here within 300 steps
  cd: { steps: 1000, lr: 1e-4, lrDecay: 'none' },
};

/**
 * A complete configuration: the recipe's defaults and the recommended settings for short runs on
 * a laptop (SimpleUNet D = 32, batch 32, EMA 0.995, at most 80 curriculum intervals), then `given`.
 */
export function trainConfig(given: Partial<TrainConfig> & Pick<TrainConfig, 'recipe'>): TrainConfig {
  const recipe = given.recipe;
  if (!TRAIN_RECIPES.includes(recipe)) throw new ConfigError('recipe', `recipe must be one of ${TRAIN_RECIPES.join(', ')}, got '${recipe}'.`);
  const config: TrainConfig = {
    model: 'SimpleUNet', width: 32, batch: 32, seed: 0, emaRate: 0.995, extraEmaRates: [], cNoiseScale: DEFAULT_C_NOISE_SCALE,
    maxIntervals: 80, ectStages: DEFAULT_ECT_STAGES, warmupSteps: 0,
    ...RECIPE_DEFAULTS[recipe],
    ...(recipe === 'cd' ? CD_DEFAULTS : {}),
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    recipe,
  } as TrainConfig;
  validateTrainConfig(config);
  return config;
}

const isInt = (x: unknown, min: number): boolean => typeof x === 'number' && Number.isInteger(x) && x >= min;
const isRate = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x < 1;

/** Throws a ConfigError naming the first setting out of range or combination that cannot work. */
export function validateTrainConfig(c: TrainConfig): void {
  const bad = (setting: string, message: string): never => {
    throw new ConfigError(setting, message);
  };
  if (!TRAIN_RECIPES.includes(c.recipe)) bad('recipe', `recipe must be one of ${TRAIN_RECIPES.join(', ')}, got '${c.recipe}'.`);
  const model = c.model ?? 'SimpleUNet';
  if (model !== 'SimpleUNet' && model !== 'UNet') bad('model', `model must be SimpleUNet or UNet, got '${model}'.`);
  if (model === 'UNet' && c.recipe === 'seed') bad('model', "model UNet has no community parametrization: use recipe ict, edm or cd.");
  if (!isInt(c.width, 32) || c.width % 32 !== 0) bad('width', `width must be a multiple of 32 (GroupNorm uses 32 groups), got ${c.width}.`);
  if (!isInt(c.batch, 1)) bad('batch', `batch must be an integer >= 1, got ${c.batch}.`);
  if (!isInt(c.steps, 1)) bad('steps', `steps must be an integer >= 1, got ${c.steps}.`);
  if (!(typeof c.lr === 'number' && c.lr > 0 && Number.isFinite(c.lr))) bad('lr', `lr (the learning rate) must be a positive number, got ${c.lr}.`);
  if (!isInt(c.seed, 0)) bad('seed', `seed must be an integer >= 0, got ${c.seed}.`);
  if (!isRate(c.emaRate)) bad('emaRate', `emaRate must be in [0, 1), got ${c.emaRate}.`);
  if ((c.extraEmaRates ?? []).some((r) => !isRate(r))) bad('extraEmaRates', `extraEmaRates must be rates in [0, 1), got [${c.extraEmaRates}].`);
  if (!(typeof c.cNoiseScale === 'number' && c.cNoiseScale > 0)) bad('cNoiseScale', `cNoiseScale must be a positive number, got ${c.cNoiseScale}.`);
  if (c.maxIntervals !== undefined && !isInt(c.maxIntervals, 10)) bad('maxIntervals', `maxIntervals must be an integer >= 10, got ${c.maxIntervals}.`);
  if (c.ectStages !== undefined && !isInt(c.ectStages, 1)) bad('ectStages', `ectStages must be an integer >= 1, got ${c.ectStages}.`);
  if (c.warmupSteps !== undefined && !isInt(c.warmupSteps, 0)) bad('warmupSteps', `warmupSteps must be an integer >= 0, got ${c.warmupSteps}.`);
  if (c.maxGradNorm !== undefined && !(c.maxGradNorm > 0)) bad('maxGradNorm', `maxGradNorm must be a positive number (leave it out for no clipping), got ${c.maxGradNorm}.`);
  if (c.lrDecay !== undefined && c.lrDecay !== 'none' && c.lrDecay !== 'cosine') bad('lrDecay', `lrDecay must be 'none' or 'cosine', got '${c.lrDecay}'.`);
  if (c.labelDropout !== undefined && !(c.labelDropout >= 0 && c.labelDropout < 1)) bad('labelDropout', `labelDropout must be in [0, 1), got ${c.labelDropout}.`);
  if (c.labelDropout !== undefined && !c.classConditional) bad('labelDropout', 'labelDropout needs classConditional (it drops labels of a class-conditional run).');
  if (c.init !== undefined && (typeof c.init !== 'string' || c.init === '')) bad('init', `init must name a weights file, got '${c.init}'.`);
  if (c.init !== undefined && c.recipe === 'cd') bad('init', 'init: recipe cd starts from its teacher; leave init out (or give that file as teacher).');
  if (c.recipe === 'cd') {
    if (!c.teacher) bad('teacher', 'teacher: recipe cd needs a teacher file (train one with recipe edm).');
    if (c.intervals !== undefined && !isInt(c.intervals, 2)) bad('intervals', `intervals must be an integer >= 2, got ${c.intervals}.`);
    if (c.targetEma !== undefined && !isRate(c.targetEma)) bad('targetEma', `targetEma must be in [0, 1), got ${c.targetEma}.`);
    if (c.distance !== undefined && !['l2', 'l1', 'pseudo-huber'].includes(c.distance)) bad('distance', `distance must be l2, l1 or pseudo-huber, got '${c.distance}'.`);
  }
}
