// The checkpoint contract (docs/architecture.md, section 4): one safetensors file holds the model
// under its own state-dict names and, in a training checkpoint, the other copies under prefixes:
//   ema.NAME            the EMA copy used for sampling
//   ema@RATE.NAME       each further EMA copy, at its rate
//   target.NAME         the target network (recipes seed and cd)
//   optimizer.m.NAME    AdamW's first and second moments
//   optimizer.v.NAME
// Metadata `format` = TRAINING_CHECKPOINT_FORMAT marks a training checkpoint (resumable); an export
// has the plain names only. Every reader and writer of these names goes through this module.
// The metadata keys written and read: docs/architecture.md, The checkpoint contract.
import { FormatError } from '../errors';
import type { Tensor } from '../tensor/tensor';

export const TRAINING_CHECKPOINT_FORMAT = 'onestep-ct-checkpoint-1';

export const isTrainingCheckpoint = (metadata: Record<string, string>): boolean => metadata.format === TRAINING_CHECKPOINT_FORMAT;

/** The parts of a training checkpoint, each a state dict under the model's own names. */
export interface CheckpointParts<T> {
  model: Record<string, T>;
  ema: Record<string, T>;
  /** Further EMA copies by rate (as written: String(rate)). */
  extraEmas: Map<string, Record<string, T>>;
  target: Record<string, T>;
  optimizerM: Record<string, T>;
  optimizerV: Record<string, T>;
}

// the rate is a number (0.999, 1e-7) and the name starts with a letter
const EXTRA_EMA = /^ema@(\d*\.?\d+(?:e[-+]?\d+)?)\.([A-Za-z_].*)$/;
const PREFIXES = [
  ['ema.', 'ema'], ['target.', 'target'], ['optimizer.m.', 'optimizerM'], ['optimizer.v.', 'optimizerV'],
] as const;

/** Flattens the parts into the file's tensor names. */
export function joinCheckpoint<T>(parts: Partial<CheckpointParts<T>>): Record<string, T> {
  const out: Record<string, T> = { ...parts.model };
  for (const [prefix, key] of PREFIXES) for (const [name, t] of Object.entries(parts[key] ?? {})) out[prefix + name] = t;
  for (const [rate, dict] of parts.extraEmas ?? []) for (const [name, t] of Object.entries(dict)) out[`ema@${rate}.${name}`] = t;
  return out;
}

/** Splits a file's tensors by prefix; names without a prefix are the model's. */
export function splitCheckpoint<T>(tensors: Record<string, T>): CheckpointParts<T> {
  const parts: CheckpointParts<T> = { model: {}, ema: {}, extraEmas: new Map(), target: {}, optimizerM: {}, optimizerV: {} };
  for (const [name, t] of Object.entries(tensors)) {
    const extra = EXTRA_EMA.exec(name);
    if (extra) {
      const dict = parts.extraEmas.get(extra[1]!) ?? {};
      dict[extra[2]!] = t;
      parts.extraEmas.set(extra[1]!, dict);
      continue;
    }
    const prefixed = PREFIXES.find(([prefix]) => name.startsWith(prefix));
    if (prefixed) parts[prefixed[1]][name.slice(prefixed[0].length)] = t;
    else parts.model[name] = t;
  }
  return parts;
}

/** The weights to sample with: a training checkpoint's EMA copy when it has one, else the model's. */
export function samplingWeights(tensors: Record<string, Tensor>): Record<string, Tensor> {
  const parts = splitCheckpoint(tensors);
  return Object.keys(parts.ema).length ? parts.ema : parts.model;
}

/** A metadata value parsed as JSON (undefined when absent); a FormatError naming the file when it does not parse. */
export function metadataJson<T>(path: string, metadata: Record<string, string>, key: string): T | undefined {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FormatError(path, `${path}: its metadata '${key}' is not valid JSON (${(e as Error).message}); the file is damaged or was not written by onestep.`);
  }
}

/** A numeric metadata value (the fallback when absent) that `ok` accepts, else a FormatError naming the file. */
export function metadataNumber(path: string, metadata: Record<string, string>, key: string, fallback: number | undefined, ok: (x: number) => boolean = Number.isFinite): number {
  const value = metadata[key] === undefined ? fallback : Number(metadata[key]);
  if (value === undefined || !ok(value)) {
    throw new FormatError(path, `${path}: its metadata '${key}' is ${metadata[key] === undefined ? 'missing' : `'${metadata[key]}'`}, not a valid value; the file is damaged or was not written by onestep.`);
  }
  return value;
}

const SCHEDULE_KEYS = ['checkpointEvery', 'sampleEvery', 'evalEvery', 'evalN', 'logEvery'] as const;

/**
 * How often a run checkpoints, draws grids, measures its learning curve (and on how many images)
 * and logs, in steps (0: never): kept in the checkpoint (metadata `schedule`) so a resumed run, on
 * this machine or another, goes on as it was started unless told otherwise.
 */
export type RunSchedule = Partial<Record<(typeof SCHEDULE_KEYS)[number], number>>;

/** A checkpoint's schedule (metadata `schedule`, absent in older files: {}), each entry a whole number >= 0. */
export function runSchedule(path: string, value: unknown): RunSchedule {
  if (value === undefined) return {};
  const bad = typeof value !== 'object' || value === null || Array.isArray(value)
    ? 'not an object'
    : Object.entries(value).find(([k, v]) => !(SCHEDULE_KEYS as readonly string[]).includes(k) || !(Number.isInteger(v) && (v as number) >= 0))?.[0];
  if (bad !== undefined) throw new FormatError(path, `${path}: its metadata 'schedule' is not valid (${bad}); the file is damaged or was not written by onestep.`);
  return value as RunSchedule;
}
