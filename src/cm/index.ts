// The consistency-model API in Node: portable.ts plus training runs and loading from files.
export * from './portable';
export { loadConsistencyModel, loadTeacher, isTeacherFile } from './load-file';
export { Trainer } from './trainer';
export { runTraining, writeSampleGrids, gridSamplers, type RunTrainingOptions, type TrainingRunResult, type StepProgress } from './run';
export type { CurveOptions, CurvePoint } from './curve';
export { loadImageSource, type ImageSource, type ImageSourceOptions } from './source';
export { EDIT_TASKS, runEditTask, editOriginals, type EditTask, type EditTaskOptions, type EditResult } from './edit-task';
export { mnistCurve, describeCurvePoint, type MnistCurveOptions } from './mnist-curve';
