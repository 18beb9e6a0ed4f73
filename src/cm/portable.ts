// The consistency-model API that runs anywhere (Node and browsers); index.ts adds what needs files.
export * from './schedule';
export * from './parametrization';
export * from './losses';
export { ctStep, ctLoss, type LevelSampler, type LevelPairs, type CtStepContext, type StepResult } from './train';
export { sample, samplerLevels, checkSamplerLevels, SAMPLER_LEVELS, type SampleOptions } from './sample';
export { defaultSampleBatch, inChunks } from './chunks';
export { trainConfig, validateTrainConfig, RECIPE_DEFAULTS, TRAIN_RECIPES, type TrainConfig, type TrainRecipe } from './config';
export {
  RECIPES, recipeNamed, ictLevels, ectLevels, seedLevels, DEFAULT_ECT_STAGES, CD_DEFAULTS,
  type TrainingRecipe, type RecipeRun, type RecipeState, type RecipeFlag, type SampleSettings, type BaseTrainConfig, type RecipeSettings,
  type IctSettings, type EctSettings, type CdSettings,
} from './recipes/index';
export { TRAINING_CHECKPOINT_FORMAT, isTrainingCheckpoint, joinCheckpoint, splitCheckpoint, samplingWeights, type CheckpointParts, type RunSchedule } from './checkpoint';
export { buildNetwork, networkConsistency, type ModelKind, type NetworkSpec, type Network } from './network';
export { EDIT_SIGMAS, inpaint, superResolve, colorize, denoise, interpolateLatents, blockMeans, repeatBlocks, luminance, slerp, LUMA, type EditOptions } from './edit';
export { edmScalings, edmLossWeight, edmDenoiser, edmLoss, heunStep, edmSample, EDM_P_MEAN, EDM_P_STD, type Denoiser, type EdmSampleOptions } from './edm';
export { guidedDenoiser, autoguidedDenoiser, autoAndClassGuidedDenoiser, checkGuidance } from './guidance';
export { distance, cdLoss, cdStep, type Distance, type CdContext, type CdStepContext } from './distill';
export { consistencyModelFrom, consistencyModelFromBytes, teacherFrom, type WeightsFile, type LoadedConsistencyModel, type LoadedTeacher } from './load';
export { officialArgs, officialUNetConfig, OFFICIAL_DEFAULTS, OFFICIAL_PRESETS, type OfficialModelArgs } from './official-args';
export { convertOfficial, OFFICIAL_KINDS, OFFICIAL_KIND_INFO, type OfficialKind, type ConvertedModel } from './convert-official';
export { TrainingRun, resumeRun, checkpointSummary, type TrainingRunOptions, type CheckpointSummary, type SafetensorsRecord } from './training-run';
export { trainLoop, sampleGrids, yieldToEventLoop, type TrainingLoopOptions, type TrainingLoopResult, type StepProgress } from './training-loop';
