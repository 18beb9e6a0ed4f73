// How the example reports a failure: one `error:` line (exit code 2) for bad input of any kind,
// the stack trace only with --debug or ONESTEP_DEBUG=1.
import { basename, resolve } from 'node:path';
import { ConfigError, FileAccessError, FormatError, InputError } from '../../src/index';

/** A bad flag, a missing required flag, or flags that do not go together. */
export class UsageError extends Error {
  override name = 'UsageError';
}

// the library's setting names -> the flags that set them
const FLAG_OF: Record<string, string> = {
  recipe: '--recipe', model: '--model', width: '--width', batch: '--batch', steps: '--steps', lr: '--lr', seed: '--seed',
  emaRate: '--ema', extraEmaRates: '--ema', cNoiseScale: '--c-noise-scale', maxIntervals: '--max-intervals',
  ectStages: '--ect-stages', warmupSteps: '--warmup', maxGradNorm: '--clip', lrDecay: '--lr-decay', teacher: '--teacher', init: '--init',
  intervals: '--intervals', targetEma: '--target-ema', distance: '--distance', guidance: '--guidance', guideWith: '--guide-with', classGuidance: '--class-guidance', sigmas: '--sigmas', channels: '--channels',
  n: '--n', task: '--task', classConditional: '--class-conditional', labelDropout: '--label-dropout', class: '--class', size: '--size', curve: '--eval-every',
};

/** A failure of a flag's value, reported with the flag and the value first. */
export function withFlag<T>(flag: string, value: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FormatError || e instanceof FileAccessError) e.message = `${flag} ${value}: ${e.message}`;
    throw e;
  }
}

/** withFlag for several file flags ([flag, value] pairs): a failure names the flag whose file it is about (by path, or by the file name a decoder gives). */
export function withFlags<T>(files: [flag: string, value: string][], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const about = e instanceof FormatError ? e.source : e instanceof FileAccessError ? e.path : undefined;
    const match = files.find(([, value]) => about !== undefined && (resolve(value) === resolve(about) || basename(value) === about));
    if (match) e instanceof Error && (e.message = `--${match[0]} ${match[1]}: ${e.message}`);
    throw e;
  }
}

// what bad input raises; anything else (a failed kernel, a broken invariant) is a bug
const isInputError = (e: Error): boolean => e instanceof UsageError || e instanceof InputError;

/** Prints the error for a person and returns the exit code: 2 for bad input, 1 for anything else. */
export function reportError(e: unknown, debug: boolean, name = 'mnist'): number {
  const error = e instanceof Error ? e : new Error(String(e));
  let message = error.message;
  if (error instanceof ConfigError && FLAG_OF[error.setting]) message = message.replace(new RegExp(`^${error.setting}\\b`), FLAG_OF[error.setting]!);
  if (debug) console.error(error.stack);
  if (isInputError(error)) {
    console.error(`error: ${message}\nRun \`npm run ${name} -- --help\` for the flags${debug ? '' : ' (--debug shows where it failed)'}.`);
    return 2;
  }
  console.error(`error: ${message}\nThis is a bug in onestep, not in your input${debug ? '' : '; run again with --debug for the stack trace and report it'}.`);
  return 1;
}
