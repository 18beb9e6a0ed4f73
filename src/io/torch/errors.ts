// How every problem with a PyTorch checkpoint is reported: a FormatError naming the file.
import { FormatError } from '../../errors';

/** Throws a problem with a checkpoint; `why` says what is wrong and, after a semicolon, the fix. */
export type Fail = (why: string) => never;

/** The thrower of `source`'s FormatErrors. */
export const invalidTorchFile = (source: string): Fail => (why: string): never => {
  throw new FormatError(source, `torch: ${source} is not a PyTorch checkpoint onestep can read: ${why}.`);
};

/** A name taken from the file, cut short and escaped for a message (a corrupt file can put anything there). */
export function quoted(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}
