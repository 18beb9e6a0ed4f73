import { join } from 'node:path';
import { CurveFile, type CurveOptions, type CurvePoint } from './curve';
import { ConfigError, DivergenceError } from '../errors';
import { saveImageGrid } from '../io/png';
import type { SampleSettings } from './recipes/index';
import type { Trainer } from './trainer';

export interface TrainingRunOptions {
  /** Folder of the exports and sample grids. */
  outDir: string;
  /** The checkpoint file (default outDir/checkpoint.safetensors): written every checkpointEvery steps, when stopped, and at the end. */
  checkpoint?: string;
  /** Default 100. */
  checkpointEvery?: number;
  /** Sample grids every N steps (0, the default: only at the end). */
  sampleEvery?: number;
  /** Called after every step. */
  onStep?: (progress: StepProgress) => void;
  /** Asked after every step; true ends the run there, with a checkpoint (Ctrl-C in the CLI). */
  shouldStop?: () => boolean;
  /**
   * Seconds of wall-clock time this call may take (steps, checkpoints, grids and curve points all
   * count): the run ends with a checkpoint after the step that crosses it (the CLI's --time-limit).
   */
  timeLimit?: number;
  /** The checkpoint the trainer was resumed from: the last good one until this run writes its own. */
  resumedFrom?: string;
  /** A learning curve (outDir/curve.csv): measured every `every` steps and at the end. */
  curve?: CurveOptions;
}

export interface StepProgress {
  step: number;
  loss: number;
  /** The recipe's discretization N or stage of this step. */
  n: number;
  /** Steps per second since the run (or the resumed part of it) started. */
  rate: number;
}

export interface TrainingRunResult {
  /** True when shouldStop or the time limit ended the run before its last step. */
  stopped: boolean;
  /** Why a stopped run stopped: shouldStop() turned true, or the time limit was reached. */
  stoppedBy?: 'request' | 'time-limit';
  /** Steps taken in this call. */
  steps: number;
  seconds: number;
  checkpoint: string;
  /** Exported EMA weights (at the end only): the primary copy first. */
  exports: string[];
  /** Sample grids written during the run and at the end. */
  grids: string[];
  /** With options.curve: the file (outDir/curve.csv) and its points, those of earlier parts of a resumed run included. */
  curve?: { file: string; points: CurvePoint[] };
}

/** Yields to the event loop so signals and timers get through between synchronous steps. */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((done) => (typeof setImmediate === 'function' ? setImmediate(done) : setTimeout(done, 0)));

/** The samplers of the run's grids, by name (the recipe's: one and two steps for a consistency model, 18 and 40 Heun steps for an EDM teacher). */
export function gridSamplers(trainer: Trainer): (readonly [string, SampleSettings])[] {
  return [...trainer.recipe.grids];
}

/**
 * Sample grids of the run's EMA copy, 64 images each, one per gridSamplers; a class-conditional
 * run's cycle through its classes. Returns the files written.
 */
export function writeSampleGrids(trainer: Trainer, outDir: string, tag: string): string[] {
  // a class-conditional run: the classes in turn (its "no label" row may be untrained: labelDropout 0)
  const labels = trainer.numClasses ? Array.from({ length: 64 }, (_, i) => i % trainer.numClasses!) : undefined;
  return gridSamplers(trainer).map(([name, settings]) => {
    const file = join(outDir, `samples-${tag}-${name}.png`);
    const images = trainer.sample(64, 0, { ...settings, labels });
    saveImageGrid(file, images, 8);
    images.dispose();
    return file;
  });
}

/**
 * Trains to config.steps: checkpoints on schedule (atomically, so a crash leaves the last one
 * whole), grids every sampleEvery steps, and at the end the checkpoint, the EMA exports
 * (the recipe's exportName in outDir: ema.safetensors or teacher.safetensors; ema-RATE.safetensors for extra rates) and
 * final grids. When shouldStop() turns true or the time limit passes, the run ends after the
 * current step with a checkpoint. A loss that is not finite throws a DivergenceError naming the last good checkpoint.
 */
export async function runTraining(trainer: Trainer, opts: TrainingRunOptions): Promise<TrainingRunResult> {
  const checkpoint = opts.checkpoint ?? join(opts.outDir, 'checkpoint.safetensors');
  const checkpointEvery = opts.checkpointEvery ?? 100, sampleEvery = opts.sampleEvery ?? 0;
  const started = performance.now(), startStep = trainer.step;
  let lastSaved: string | null = opts.resumedFrom ?? null;
  const grids: string[] = [];
  if (opts.curve && !(Number.isInteger(opts.curve.every) && opts.curve.every >= 1)) {
    throw new ConfigError('curve', `curve.every must be an integer >= 1 (steps between points of the learning curve), got ${opts.curve.every}.`);
  }
  const curve = opts.curve && new CurveFile(join(opts.outDir, 'curve.csv'), trainer.step, opts.resumedFrom !== undefined);
  if (opts.timeLimit !== undefined && !(opts.timeLimit > 0)) {
    throw new ConfigError('timeLimit', `timeLimit must be a positive number of seconds, got ${opts.timeLimit}.`);
  }
  const result = (stoppedBy: TrainingRunResult['stoppedBy'], exports: string[]): TrainingRunResult => ({
    stopped: stoppedBy !== undefined, ...(stoppedBy ? { stoppedBy } : {}), steps: trainer.step - startStep, seconds: (performance.now() - started) / 1e3, checkpoint, exports, grids,
    ...(curve ? { curve: { file: curve.file, points: curve.points } } : {}),
  });
  // trainer.trainSeconds counts everything but the curve's measurements
  let mark = performance.now();
  const measure = () => {
    const t0 = performance.now();
    const point = { step: trainer.step, minutes: trainer.trainSeconds / 60, values: opts.curve!.measure(trainer) };
    curve!.add(point);
    mark = performance.now();
    opts.curve!.onPoint?.(point, (mark - t0) / 1e3);
  };
  while (trainer.step < trainer.config.steps) {
    await yieldToEventLoop();
    const stopBy = opts.shouldStop?.() ? 'request' : opts.timeLimit !== undefined && performance.now() - started >= opts.timeLimit * 1e3 ? 'time-limit' : undefined;
    if (stopBy) {
      trainer.save(checkpoint);
      return result(stopBy, []);
    }
    const { loss, n } = trainer.trainStep();
    if (!Number.isFinite(loss)) {
      throw new DivergenceError(trainer.step, lastSaved, `the loss became ${loss} at step ${trainer.step}; ` + (lastSaved
        ? `the last good checkpoint is ${lastSaved}: resume from it with a lower learning rate or gradient clipping (CLI: --resume, --lr, --clip).`
        : 'no checkpoint was written yet: start again with a lower learning rate or gradient clipping (CLI: --lr, --clip).'));
    }
    trainer.trainSeconds += (performance.now() - mark) / 1e3;
    mark = performance.now();
    opts.onStep?.({ step: trainer.step, loss, n, rate: (trainer.step - startStep) / ((performance.now() - started) / 1e3) });
    if (curve && trainer.step % opts.curve!.every === 0 && trainer.step < trainer.config.steps) measure();
    if (trainer.step % checkpointEvery === 0 && trainer.step < trainer.config.steps) {
      trainer.save(checkpoint);
      lastSaved = checkpoint;
    }
    if (sampleEvery > 0 && trainer.step % sampleEvery === 0 && trainer.step < trainer.config.steps) grids.push(...writeSampleGrids(trainer, opts.outDir, `step${trainer.step}`));
  }
  trainer.save(checkpoint);
  const exports = [join(opts.outDir, trainer.recipe.exportName)];
  trainer.exportEma(exports[0]!);
  for (const rate of trainer.config.extraEmaRates ?? []) {
    exports.push(join(opts.outDir, `ema-${rate}.safetensors`));
    trainer.exportEma(exports.at(-1)!, rate);
  }
  grids.push(...writeSampleGrids(trainer, opts.outDir, 'final'));
  if (curve && curve.points.at(-1)?.step !== trainer.step) measure();
  return result(undefined, exports);
}
