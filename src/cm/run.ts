import { join } from 'node:path';
import { CurveFile, type CurveOptions, type CurvePoint } from './curve';
import { ConfigError } from '../errors';
import { saveImageGrid } from '../io/png';
import type { SampleSettings } from './recipes/index';
import type { Trainer } from './trainer';
import { sampleGrids, trainLoop, type StepProgress } from './training-loop';
import type { TrainingRun } from './training-run';

export type { StepProgress } from './training-loop';

export interface RunTrainingOptions {
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
  /**
   * With options.curve: the file (outDir/curve.csv) and its points, those of earlier parts of a resumed run included,
   * and `best`, the EMA export at the point of lowest first figure (FD at one step; a teacher's at 18 Heun steps).
   */
  curve?: { file: string; points: CurvePoint[]; best: string };
}

/** The export kept at a learning curve's best point: outDir/best-<exportName>. */
const bestExportName = (trainer: TrainingRun): string => `best-${trainer.recipe.exportName}`;

/** The samplers of the run's grids, by name (the recipe's: one and two steps for a consistency model, 18 and 40 Heun steps for an EDM teacher). */
export function gridSamplers(trainer: TrainingRun): (readonly [string, SampleSettings])[] {
  return [...trainer.recipe.grids];
}

/**
 * Sample grids of the run's EMA copy, 64 images each, one per gridSamplers (sampleGrids); a
 * class-conditional run's cycle through its classes. Returns the files written.
 */
export function writeSampleGrids(trainer: TrainingRun, outDir: string, tag: string): string[] {
  return sampleGrids(trainer).map(({ name, images }) => {
    const file = join(outDir, `samples-${tag}-${name}.png`);
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
export async function runTraining(trainer: Trainer, opts: RunTrainingOptions): Promise<TrainingRunResult> {
  const started = performance.now();
  const checkpoint = opts.checkpoint ?? join(opts.outDir, 'checkpoint.safetensors');
  const grids: string[] = [];
  if (opts.curve && !(Number.isInteger(opts.curve.every) && opts.curve.every >= 1)) {
    throw new ConfigError('curve', `curve.every must be an integer >= 1 (steps between points of the learning curve), got ${opts.curve.every}.`);
  }
  const curve = opts.curve && new CurveFile(join(opts.outDir, 'curve.csv'), trainer.step, opts.resumedFrom !== undefined);
  const best = join(opts.outDir, bestExportName(trainer));
  const measure = () => {
    const t0 = performance.now();
    const point = { step: trainer.step, minutes: trainer.trainSeconds / 60, values: opts.curve!.measure(trainer) };
    curve!.add(point);
    // the curve's figures are distances (lower is better); checkpoints overwrite, so the best point's weights are kept apart
    const first = (p: CurvePoint) => Object.values(p.values)[0]!;
    if (curve!.points.every((p) => p === point || first(p) > first(point))) trainer.exportEma(best);
    opts.curve!.onPoint?.(point, (performance.now() - t0) / 1e3);
  };
  const loop = await trainLoop(trainer, {
    checkpointEvery: opts.checkpointEvery, sampleEvery: opts.sampleEvery, onStep: opts.onStep, shouldStop: opts.shouldStop, timeLimit: opts.timeLimit,
    saveCheckpoint: () => trainer.save(checkpoint), checkpointName: checkpoint, resumedFrom: opts.resumedFrom,
    onSamples: (_, tag) => void grids.push(...writeSampleGrids(trainer, opts.outDir, tag)),
    ...(curve ? { measure: { every: opts.curve!.every, run: measure } } : {}),
  });
  const result = (exports: string[]): TrainingRunResult => ({
    stopped: loop.stoppedBy !== undefined, ...loop, checkpoint, exports, grids,
    ...(curve ? { curve: { file: curve.file, points: curve.points, best } } : {}),
  });
  if (loop.stoppedBy) return result([]);
  const exports = [join(opts.outDir, trainer.recipe.exportName)];
  trainer.exportEma(exports[0]!);
  for (const rate of trainer.config.extraEmaRates ?? []) {
    exports.push(join(opts.outDir, `ema-${rate}.safetensors`));
    trainer.exportEma(exports.at(-1)!, rate);
  }
  grids.push(...writeSampleGrids(trainer, opts.outDir, 'final'));
  if (curve && curve.points.at(-1)?.step !== trainer.step) measure();
  return { ...result(exports), seconds: (performance.now() - started) / 1e3 };
}
