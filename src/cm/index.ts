export * from './schedule';
export * from './parametrization';
export * from './losses';
export { ctStep, ctLoss, type Recipe, type CtStepContext, type StepResult } from './train';
export { sample, type SampleOptions } from './sample';
export { Trainer, DEFAULT_C_NOISE_SCALE, type TrainConfig } from './trainer';
export { loadConsistencyModel, type LoadedConsistencyModel } from './load';
export { buildNetwork, networkConsistency, type ModelKind, type NetworkSpec, type Network } from './network';
export { EDIT_SIGMAS, inpaint, superResolve, colorize, denoise, interpolateLatents, blockMeans, repeatBlocks, luminance, slerp, LUMA, type EditOptions } from './edit';
