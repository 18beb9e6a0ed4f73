import { ConfigError } from '../errors';
import { DEFAULT_C_NOISE_SCALE } from './parametrization';
import { RECIPE_LIST, RECIPES, recipeNamed, TRAIN_RECIPES, type BaseTrainConfig, type RecipeSettings, type TrainRecipe } from './recipes/index';

export type { TrainRecipe } from './recipes/index';
export { TRAIN_RECIPES } from './recipes/index';

/** A run's configuration: the settings every recipe reads, and each recipe's own (src/cm/recipes). */
export interface TrainConfig extends BaseTrainConfig, RecipeSettings {
  recipe: TrainRecipe;
}

/** What each recipe starts from when a setting is not given (the CLI's defaults). */
export const RECIPE_DEFAULTS = Object.fromEntries(TRAIN_RECIPES.map((name) => [name, RECIPES[name].defaults])) as Record<TrainRecipe, Pick<TrainConfig, 'steps' | 'lr' | 'lrDecay'>>;

/**
 * A complete configuration: the recipe's defaults and the recommended settings for short runs on
 * a laptop (SimpleUNet D = 32, batch 32, EMA 0.995, at most 80 curriculum intervals), then `given`.
 */
export function trainConfig(given: Partial<TrainConfig> & Pick<TrainConfig, 'recipe'>): TrainConfig {
  const recipe = recipeNamed(given.recipe);
  if (!recipe) throw new ConfigError('recipe', `recipe must be one of ${TRAIN_RECIPES.join(', ')}, got '${given.recipe}'.`);
  const config = {
    model: 'SimpleUNet', width: 32, batch: 32, seed: 0, emaRate: 0.995, extraEmaRates: [], cNoiseScale: DEFAULT_C_NOISE_SCALE,
    ...Object.assign({}, ...RECIPE_LIST.map((r) => r.settingDefaults ?? {})),
    warmupSteps: 0,
    ...recipe.defaults,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    recipe: given.recipe,
  } as TrainConfig;
  validateTrainConfig(config);
  return config;
}

const isInt = (x: unknown, min: number): boolean => typeof x === 'number' && Number.isInteger(x) && x >= min;
const isRate = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x < 1;

/** Throws a ConfigError naming the first setting out of range or combination that cannot work. */
export function validateTrainConfig(c: TrainConfig): void {
  const refuse = (setting: string, message: string): never => {
    throw new ConfigError(setting, message);
  };
  const recipe = recipeNamed(c.recipe) ?? refuse('recipe', `recipe must be one of ${TRAIN_RECIPES.join(', ')}, got '${c.recipe}'.`);
  const model = c.model ?? 'SimpleUNet';
  if (model !== 'SimpleUNet' && model !== 'UNet') refuse('model', `model must be SimpleUNet or UNet, got '${model}'.`);
  if (!isInt(c.width, 32) || c.width % 32 !== 0) refuse('width', `width must be a multiple of 32 (GroupNorm uses 32 groups), got ${c.width}.`);
  if (!isInt(c.batch, 1)) refuse('batch', `batch must be an integer >= 1, got ${c.batch}.`);
  if (!isInt(c.steps, 1)) refuse('steps', `steps must be an integer >= 1, got ${c.steps}.`);
  if (!(typeof c.lr === 'number' && c.lr > 0 && Number.isFinite(c.lr))) refuse('lr', `lr (the learning rate) must be a positive number, got ${c.lr}.`);
  if (!isInt(c.seed, 0)) refuse('seed', `seed must be an integer >= 0, got ${c.seed}.`);
  if (!isRate(c.emaRate)) refuse('emaRate', `emaRate must be in [0, 1), got ${c.emaRate}.`);
  if ((c.extraEmaRates ?? []).some((r) => !isRate(r))) refuse('extraEmaRates', `extraEmaRates must be rates in [0, 1), got [${c.extraEmaRates}].`);
  if (!(typeof c.cNoiseScale === 'number' && c.cNoiseScale > 0)) refuse('cNoiseScale', `cNoiseScale must be a positive number, got ${c.cNoiseScale}.`);
  for (const r of RECIPE_LIST) r.checkSettings?.(c, refuse);
  if (c.warmupSteps !== undefined && !isInt(c.warmupSteps, 0)) refuse('warmupSteps', `warmupSteps must be an integer >= 0, got ${c.warmupSteps}.`);
  if (c.maxGradNorm !== undefined && !(c.maxGradNorm > 0)) refuse('maxGradNorm', `maxGradNorm must be a positive number (leave it out for no clipping), got ${c.maxGradNorm}.`);
  if (c.lrDecay !== undefined && c.lrDecay !== 'none' && c.lrDecay !== 'cosine') refuse('lrDecay', `lrDecay must be 'none' or 'cosine', got '${c.lrDecay}'.`);
  if (c.labelDropout !== undefined && !(c.labelDropout >= 0 && c.labelDropout < 1)) refuse('labelDropout', `labelDropout must be in [0, 1), got ${c.labelDropout}.`);
  if (c.labelDropout !== undefined && !c.classConditional) refuse('labelDropout', 'labelDropout needs classConditional (it drops labels of a class-conditional run).');
  if (c.init !== undefined && (typeof c.init !== 'string' || c.init === '')) refuse('init', `init must name a weights file, got '${c.init}'.`);
  recipe.checkRun?.(c, refuse);
}
