// PyTorch checkpoints (torch.save, torch >= 1.6) read from their bytes, in Node or a browser. The
// archive: ARCHIVE/data.pkl (the pickle of the saved object), ARCHIVE/data/KEY (one entry per
// storage), ARCHIVE/version and more that is not needed here; ARCHIVE is a folder name that varies.
import { FormatError } from '../../errors';
import { crc32 } from './crc32';
import { LITTLE_ENDIAN_HOST } from './dtypes';
import { invalidTorchFile, quoted, type Fail } from './errors';
import { unpickle } from './pickle';
import { stateDictRules, type TorchGlobal } from './state-dict-rules';
import { TorchTensor, type TorchStorage } from './tensor';
import { looksLikeZip, readZipEntries, type ZipEntry } from './zip';

/**
 * What a checkpoint's pickle builds: None is null, bool a boolean, int a number (a bigint beyond
 * 2^53), float a number, str a string, bytes a Uint8Array, list an array, tuple a frozen array,
 * dict and OrderedDict a Map in insertion order, a tensor a TorchTensor; a storage saved on its own
 * a TorchStorage, and a dtype (`torch.float16`) a TorchGlobal.
 */
export type TorchValue =
  | null | boolean | number | bigint | string | Uint8Array
  | TorchValue[] | readonly TorchValue[] | Map<TorchValue, TorchValue>
  | TorchTensor | TorchStorage | TorchGlobal;

export interface TorchReadOptions {
  /** Check each entry read against the CRC-32 the archive records (default true; about 2 s per GB here). */
  checkCrc?: boolean;
}

export interface TorchStateDictOptions extends TorchReadOptions {
  /** The top-level key the state dict is under (`'model'`, `'ema'`, ...); see `findStateDict`. */
  key?: string;
}

/**
 * The object a checkpoint holds, tensors as views of `bytes` where their storages are aligned (they
 * are in files torch.save writes). Only state-dict material is read: any other Python global in the
 * pickle (a class, `os.system`, ...) is refused, and nothing from the file is ever run. Throws
 * FormatError naming `source` for anything else, never another exception.
 */
export function readTorchCheckpoint(bytes: Uint8Array, source = 'buffer', options: TorchReadOptions = {}): TorchValue {
  const fail = invalidTorchFile(source);
  try {
    return readChecked(bytes, options.checkCrc ?? true, fail);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    return fail(`reading it failed (${e instanceof Error ? e.message : String(e)}); re-save or re-download it`);
  }
}

/**
 * The state dict in a checkpoint, tensors by name in file order: the saved object itself when it is
 * a dict of tensors, else the one found by `findStateDict` (under `options.key` when given).
 */
export function readTorchStateDict(bytes: Uint8Array, source = 'buffer', options: TorchStateDictOptions = {}): Map<string, TorchTensor> {
  return findStateDict(readTorchCheckpoint(bytes, source, options), source, options.key);
}

/**
 * The state dict (a dict whose keys are strings and values tensors) in what a checkpoint holds:
 * under `key` when given; else the object itself if it is one; else the one dict of tensors among
 * its top-level values (`{'model': state_dict, 'step': 10}`). Several candidates (`model` and
 * `ema`, say) or none: a FormatError that lists the keys to choose from.
 */
export function findStateDict(value: TorchValue, source = 'buffer', key?: string): Map<string, TorchTensor> {
  const fail = invalidTorchFile(source);
  if (key !== undefined) {
    if (!(value instanceof Map) || !value.has(key)) return fail(`it holds no entry ${quoted(key)} (${topLevel(value)}); pass one of those keys`);
    const inner = value.get(key)!;
    if (!isStateDict(inner)) return fail(`its entry ${quoted(key)} is not a dict of tensors; pass the key of the state dict (${topLevel(value)})`);
    return inner;
  }
  if (isStateDict(value)) return value;
  const candidates = value instanceof Map ? [...value].filter(([k, v]) => typeof k === 'string' && isStateDict(v) && v.size > 0) : [];
  if (candidates.length === 1) return candidates[0]![1] as Map<string, TorchTensor>;
  if (candidates.length > 1) return fail(`it holds several state dicts (${candidates.map(([k]) => quoted(k as string)).join(', ')}); choose one with the key option`);
  return fail(`it holds no state dict, as the object saved or one of its top-level values (${topLevel(value)}); save one with torch.save(model.state_dict(), PATH)`);
}

function isStateDict(v: TorchValue): v is Map<string, TorchTensor> {
  if (!(v instanceof Map)) return false;
  for (const [k, t] of v) if (typeof k !== 'string' || !(t instanceof TorchTensor)) return false;
  return true;
}

function topLevel(value: TorchValue): string {
  if (!(value instanceof Map)) return `the object saved is ${describe(value)}`;
  const keys = [...value.keys()].map((k) => (typeof k === 'string' ? quoted(k, 40) : describe(k)));
  return `its top-level keys: ${keys.length > 12 ? `${keys.slice(0, 12).join(', ')} and ${keys.length - 12} more` : keys.join(', ') || 'none'}`;
}

function describe(v: TorchValue): string {
  if (v === null) return 'None';
  if (v instanceof TorchTensor) return `a tensor of shape [${v.shape.join(', ')}]`;
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'a tuple' : 'a list';
  if (v instanceof Map) return 'a dict';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v === 'object' ? 'a torch object' : `a ${typeof v}`;
}

function readChecked(bytes: Uint8Array, checkCrc: boolean, fail: Fail): TorchValue {
  if (!looksLikeZip(bytes)) return fail(notZip(bytes));
  if (!LITTLE_ENDIAN_HOST) throw new Error('torch: onestep reads checkpoints only on little-endian machines');
  const entries = readZipEntries(bytes, fail);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    fail(pickles.length ? `its archive holds ${pickles.length} data.pkl entries (${pickles.slice(0, 4).map((p) => quoted(p)).join(', ')}), one per saved object expected; save one object per file` : 'its zip archive has no ARCHIVE/data.pkl entry: it is not a file torch.save wrote; save the state dict with torch.save');
  }
  const archive = pickles[0]!.slice(0, -'data.pkl'.length);
  if (entries.has(`${archive}constants.pkl`)) fail('it is a TorchScript archive (torch.jit.save), not a state dict; save the weights with torch.save(model.state_dict(), PATH)');
  const read = (entry: ZipEntry): Uint8Array => {
    if (checkCrc && crc32(entry.data) !== entry.crc32) fail(`its zip entry ${quoted(entry.name)} fails its CRC-32 check (file corrupt?); re-save or re-download it`);
    return entry.data;
  };
  const byteorder = entries.get(`${archive}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(read(byteorder));
    if (order !== 'little') fail(`it was saved on a machine with byte order ${quoted(order)}; onestep reads little-endian checkpoints: load and save it again on an x86 or ARM machine`);
  }
  const storage = (key: string) => {
    const entry = entries.get(`${archive}data/${key}`);
    return entry && read(entry);
  };
  return unpickle(read(entries.get(pickles[0]!)!), stateDictRules(storage, fail), fail) as TorchValue;
}

function notZip(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'it is empty; re-save or re-download it';
  if (bytes[0] === 0x80) {
    return 'it is in the format of torch older than 1.6 (a bare pickle, not a zip archive), which onestep does not read; load it and save it again with torch >= 1.6: torch.save(torch.load(PATH), NEW_PATH)';
  }
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) {
    return 'it looks like a safetensors file, not a torch.save archive; read it with decodeSafetensors or loadSafetensors';
  }
  return 'it is not a zip archive, which torch.save has written since torch 1.6 (is it a checkpoint at all?); pass the file torch.save wrote';
}
