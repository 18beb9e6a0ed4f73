import { ConfigError, DivergenceError } from '../errors';
import type { SampleSettings } from './recipes/index';
import type { Tensor } from '../tensor/tensor';
import type { TrainingRun } from './training-run';

// The training loop without files (Node and browsers): steps, the cadences of checkpoints and
// sample grids, stopping, the time limit and divergence. What a checkpoint or a grid becomes (a
// file, storage of a browser, pixels on a page) is the caller's: runTraining (run.ts) writes files.

export interface StepProgress {
  step: number;
  loss: number;
  /** The recipe's discretization N or stage of this step. */
  n: number;
  /** Steps per second since the run (or the resumed part of it) started. */
  rate: number;
}

export interface TrainingLoopOptions {
  /** Default 100. */
  checkpointEvery?: number;
  /** Sample grids every N steps (0, the default: never during the run). */
  sampleEvery?: number;
  /** Keeps the run's checkpoint (checkpointBytes, or a file): every checkpointEvery steps, when stopped, and at the end. */
  saveCheckpoint: (run: TrainingRun) => void | Promise<void>;
  /** What divergence errors call the checkpoint saveCheckpoint keeps (a file's path). */
  checkpointName: string;
  /** The checkpoint the run was resumed from: the last good one until this loop saves its own. */
  resumedFrom?: string;
  /** Sample grids of the run's EMA copy, every sampleEvery steps before the last (`tag`: step N). */
  onSamples?: (run: TrainingRun, tag: string) => void | Promise<void>;
  /** Called after every step. */
  onStep?: (progress: StepProgress) => void;
  /** Asked before every step; true ends the run there, with a checkpoint (Ctrl-C in the CLI, Pause on the page). */
  shouldStop?: () => boolean;
  /** Seconds of wall-clock time this call may take: the run ends with a checkpoint after the step that crosses it. */
  timeLimit?: number;
  /**
   * A measurement every `every` steps before the last (a learning curve's point): its time is
   * left out of the run's trainSeconds.
   */
  measure?: { every: number; run: () => void | Promise<void> };
}

export interface TrainingLoopResult {
  /** Why the run stopped before its last step: shouldStop() turned true, or the time limit was reached; absent: it reached config.steps. */
  stoppedBy?: 'request' | 'time-limit';
  /** Steps taken in this call. */
  steps: number;
  seconds: number;
}

/**
 * Yields to the event loop so messages, signals and timers get through between synchronous steps
 * (setImmediate in Node; a MessageChannel in a browser, whose setTimeout waits at least 4 ms).
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (immediate) return new Promise((done) => immediate(done));
  return new Promise((done) => {
    const channel = new MessageChannel();
    // setting onmessage starts the port (a browser's; Node's has setImmediate)
    (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
      channel.port1.close();
      done();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Trains `run` to config.steps: checkpoints on schedule, grids every sampleEvery steps, and a
 * checkpoint at the end. When shouldStop() turns true or the time limit passes, the run ends
 * before the next step with a checkpoint. A loss that is not finite throws a DivergenceError
 * naming the last good checkpoint.
 */
export async function trainLoop(run: TrainingRun, opts: TrainingLoopOptions): Promise<TrainingLoopResult> {
  const checkpointEvery = opts.checkpointEvery ?? 100, sampleEvery = opts.sampleEvery ?? 0;
  if (!(Number.isInteger(checkpointEvery) && checkpointEvery >= 1)) throw new ConfigError('checkpointEvery', `checkpointEvery must be an integer >= 1 (steps between checkpoints), got ${checkpointEvery}.`);
  if (!(Number.isInteger(sampleEvery) && sampleEvery >= 0)) throw new ConfigError('sampleEvery', `sampleEvery must be an integer >= 0 (steps between sample grids; 0: none), got ${sampleEvery}.`);
  if (opts.timeLimit !== undefined && !(opts.timeLimit > 0)) {
    throw new ConfigError('timeLimit', `timeLimit must be a positive number of seconds, got ${opts.timeLimit}.`);
  }
  const started = performance.now(), startStep = run.step;
  let lastSaved: string | null = opts.resumedFrom ?? null;
  const result = (stoppedBy?: TrainingLoopResult['stoppedBy']): TrainingLoopResult => ({
    ...(stoppedBy ? { stoppedBy } : {}), steps: run.step - startStep, seconds: (performance.now() - started) / 1e3,
  });
  // run.trainSeconds counts everything but the measurements
  let mark = performance.now();
  while (run.step < run.config.steps) {
    await yieldToEventLoop();
    const stopBy = opts.shouldStop?.() ? 'request' : opts.timeLimit !== undefined && performance.now() - started >= opts.timeLimit * 1e3 ? 'time-limit' : undefined;
    if (stopBy) {
      await opts.saveCheckpoint(run);
      return result(stopBy);
    }
    const { loss, n } = run.trainStep();
    if (!Number.isFinite(loss)) {
      throw new DivergenceError(run.step, lastSaved, `the loss became ${loss} at step ${run.step}; ` + (lastSaved
        ? `the last good checkpoint is ${lastSaved}: resume from it with a lower learning rate or gradient clipping (CLI: --resume, --lr, --clip).`
        : 'no checkpoint was written yet: start again with a lower learning rate or gradient clipping (CLI: --lr, --clip).'));
    }
    run.trainSeconds += (performance.now() - mark) / 1e3;
    mark = performance.now();
    opts.onStep?.({ step: run.step, loss, n, rate: (run.step - startStep) / ((performance.now() - started) / 1e3) });
    const before = run.step < run.config.steps;
    if (opts.measure && before && run.step % opts.measure.every === 0) {
      await opts.measure.run();
      mark = performance.now();
    }
    if (before && run.step % checkpointEvery === 0) {
      await opts.saveCheckpoint(run);
      lastSaved = opts.checkpointName;
    }
    if (before && sampleEvery > 0 && run.step % sampleEvery === 0) await opts.onSamples?.(run, `step${run.step}`);
  }
  await opts.saveCheckpoint(run);
  return result();
}

/**
 * The run's sample grids: `count` images of its EMA copy per sampler of its recipe (one and two
 * steps for a consistency model, 18 and 40 Heun steps for an EDM teacher), seed 0; a
 * class-conditional run's cycle through its classes unless `labels` are given. The caller disposes
 * the images.
 */
export function sampleGrids(run: TrainingRun, count = 64, labels?: ArrayLike<number>): { name: string; settings: SampleSettings; images: Tensor }[] {
  // a class-conditional run: the classes in turn (its "no label" row may be untrained: labelDropout 0)
  const cycled = labels ?? (run.numClasses ? Array.from({ length: count }, (_, i) => i % run.numClasses!) : undefined);
  return run.recipe.grids.map(([name, settings]) => ({ name, settings, images: run.sample(count, 0, { ...settings, labels: cycled }) }));
}
