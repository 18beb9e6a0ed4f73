// The training recipes: one object each (recipe.ts says what one is). Adding a recipe is its file
// and a line here.
import { cd } from './cd';
import { ect } from './ect';
import { edm } from './edm';
import { ict } from './ict';
import type { TrainingRecipe } from './recipe';
import { seed } from './seed';

export const RECIPES = { ict, ect, seed, edm, cd } as const;

export type TrainRecipe = keyof typeof RECIPES;

export const TRAIN_RECIPES = Object.keys(RECIPES) as TrainRecipe[];

/** The recipes in the list's order, each as the general interface. */
export const RECIPE_LIST: readonly TrainingRecipe[] = Object.values(RECIPES) as TrainingRecipe[];

type SettingsOf<R> = R extends TrainingRecipe<infer C, infer _S> ? C : never;
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Every recipe's own settings (maxIntervals, ectStages, teacher, intervals, ...), each optional. */
export type RecipeSettings = Intersection<SettingsOf<(typeof RECIPES)[TrainRecipe]>>;

/** The recipe of this name, or undefined. */
export const recipeNamed = (name: string): TrainingRecipe | undefined =>
  Object.hasOwn(RECIPES, name) ? (RECIPES[name as TrainRecipe] as TrainingRecipe) : undefined;

export type { TrainingRecipe, RecipeRun, RecipeState, RecipeFlag, SampleSettings, BaseTrainConfig, Refuse } from './recipe';
export { ictLevels, type IctSettings } from './ict';
export { ectLevels, DEFAULT_ECT_STAGES, type EctSettings } from './ect';
export { seedLevels } from './seed';
export { CD_DEFAULTS, type CdSettings } from './cd';
