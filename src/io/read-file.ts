import { readFileSync } from 'node:fs';
import { FileAccessError } from '../errors';

/** Why a path could not be read, and the fix, as the end of a FileAccessError message. */
export function accessProblem(e: unknown, kind: 'file' | 'folder' = 'file'): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `no such ${kind}; check the path`;
  if (code === 'EISDIR') return 'it is a folder, not a file; pass the file inside it';
  if (code === 'ENOTDIR') return kind === 'folder' ? 'it is a file, not a folder; pass the folder that holds the files' : 'a part of the path is not a folder; check the path';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied; make the ${kind} readable`;
  return `${e instanceof Error ? e.message : String(e)}; check the path`;
}

/** The bytes of `path`, or a FileAccessError `${prefix}: cannot read ${path}: why; fix.`. */
export function readBytes(path: string, prefix: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new FileAccessError(path, `${prefix}: cannot read ${path}: ${accessProblem(e)}.`);
  }
}
