// The errors onestep throws for bad input. Each message names the file or setting, what is wrong,
// and the fix; the CLI prints it as one `error:` line (exit code 2) without a stack trace.

/** What every error of bad input (not a bug) is: catch this one to tell the two apart. */
export abstract class InputError extends Error {}

/** Bytes or a file that a loader cannot read (safetensors, IDX, PNG, JPEG, a .pt file, a checkpoint of another model). */
export class FormatError extends InputError {
  override name = 'FormatError';
  /** The file name (or 'buffer') that failed. */
  readonly source: string;
  constructor(source: string, message: string) {
    super(message);
    this.source = source;
  }
}

/** A configuration value out of range or a combination of settings that cannot work together. */
export class ConfigError extends InputError {
  override name = 'ConfigError';
  /** The setting at fault, as the library names it (for instance `lr`, `ectStages`, `batch`). */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}

/** A file or folder that cannot be read or written (missing, not a folder, no permission). */
export class FileAccessError extends InputError {
  override name = 'FileAccessError';
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/** Training stopped because the loss stopped being a finite number. */
export class DivergenceError extends InputError {
  override name = 'DivergenceError';
  /** The step whose loss was not finite (1-based, as the progress shows it). */
  readonly step: number;
  /** The last checkpoint written before it (null when none was). */
  readonly checkpoint: string | null;
  constructor(step: number, checkpoint: string | null, message: string) {
    super(message);
    this.step = step;
    this.checkpoint = checkpoint;
  }
}
