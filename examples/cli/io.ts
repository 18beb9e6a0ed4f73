// The example's files and progress: input files that must exist, output folders checked before any
// long work, the progress bar.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { FileAccessError } from '../../src/index';
import { UsageError } from './report';

/** A file flag: the given path or the committed default, which must exist. */
export function existingFile(flag: string, given: string | undefined, fallback?: string, hint = ''): string {
  const path = given ?? fallback;
  if (!path) throw new UsageError(`this command needs --${flag} FILE${hint}.`);
  if (!existsSync(path)) throw new UsageError(`--${flag} ${path}: no such file${hint}.`);
  return path;
}

/** The output folder, created and checked writable before any long work. */
export function outputFolder(dir: string, flag = `--out ${dir}`): string {
  const out = resolve(dir);
  try {
    // one level at a time: a recursive mkdir under /proc spins forever on Node 20
    const missing: string[] = [];
    for (let p = out; !existsSync(p); p = dirname(p)) missing.unshift(p);
    for (const p of missing) mkdirSync(p);
    if (!statSync(out).isDirectory()) throw Object.assign(new Error('a file, not a folder'), { code: 'ENOTDIR' });
    accessSync(out, constants.W_OK);
  } catch (e) {
    throw new FileAccessError(out, `${flag}: cannot write ${flag.startsWith('--out') ? 'there' : 'to its folder'} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a folder you can write to.`);
  }
  return out;
}

export function progressBar(format: string): cliProgress.SingleBar {
  // in logs and CI: one progress line every 10 s
  return new cliProgress.SingleBar({ format, hideCursor: true, etaBuffer: 50, noTTYOutput: true, notTTYSchedule: 10_000 }, cliProgress.Presets.shades_classic);
}
