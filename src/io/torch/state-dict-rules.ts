// What the pickle of a state dict may name, and what each name means: the rules the restricted
// unpickler (pickle.ts) runs under. A name outside this list is refused the moment GLOBAL names it,
// before anything could use it; the names inside it are markers our own functions interpret
// (`torch._utils._rebuild_tensor_v2` becomes `rebuildTensor`), never functions that are called.
import { DTYPE_NAMES, STORAGE_TYPES, type TorchDType } from './dtypes';
import type { Fail } from './errors';
import { quoted } from './errors';
import { isTuple, tuple, type PickleRules } from './pickle';
import { rebuildTensor, TorchStorage, TorchTensor } from './tensor';

/** A Python global a state dict's pickle may name (`collections.OrderedDict`, `torch.float16`, ...). */
export class TorchGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }

  /** The element type of a storage class or a dtype object; undefined for the other globals. */
  get dtype(): TorchDType | undefined {
    if (this.isStorageType) return STORAGE_TYPES[this.name];
    if (this.module === 'torch' && Object.hasOwn(DTYPE_NAMES, this.name)) return DTYPE_NAMES[this.name];
    return undefined;
  }

  get isStorageType(): boolean {
    return Object.hasOwn(STORAGE_TYPES, this.name) && isStorageModule(this.module);
  }
}

const isStorageModule = (module: string) => module === 'torch' || module === 'torch.storage';

const ORDERED_DICT = 'collections.OrderedDict';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const TORCH_SIZE = 'torch.Size';
const CALLABLE = new Set([ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, TORCH_SIZE]);

/** The rules, with `storage(key)` the bytes of the archive's entry for storage `key` (or undefined). */
export function stateDictRules(storageBytes: (key: string) => Uint8Array | undefined, fail: Fail): PickleRules {
  const storages = new Map<string, TorchStorage>();
  return {
    global(module, name) {
      const g = new TorchGlobal(module, name);
      if (CALLABLE.has(g.qualifiedName) || g.dtype !== undefined) return g;
      if (module === 'torch' && name.endsWith('Storage')) {
        return fail(`its tensors use the storage type torch.${name}, which onestep does not read (it reads float64/32/16, bfloat16, int64/32/16/8, uint8 and bool); convert those tensors in Python before saving`);
      }
      if (module.startsWith('__torch__')) {
        return fail(`it is a TorchScript archive (torch.jit.save: its pickle names ${quoted(g.qualifiedName)}), not a state dict; save the weights with torch.save(model.state_dict(), PATH)`);
      }
      return fail(`its pickle calls the Python global ${quoted(g.qualifiedName)}, which onestep refuses: a pickle is a program and onestep never runs one, it reads state dicts only (tensors, numbers, strings in dicts, lists and tuples); save the state dict alone: torch.save(model.state_dict(), PATH)`);
    },

    reduce(callable, args) {
      const name = callable instanceof TorchGlobal ? callable.qualifiedName : null;
      if (name === ORDERED_DICT && args.length === 0) return new Map();
      if (name === REBUILD_TENSOR && (args.length === 6 || args.length === 7)) return rebuildTensor(args[0], args[1], args[2], args[3], fail);
      if (name === REBUILD_PARAMETER && args.length === 3 && args[0] instanceof TorchTensor) return args[0];
      if (name === TORCH_SIZE && args.length === 1 && isTuple(args[0]) && args[0].every((d) => typeof d === 'number')) return tuple([...args[0]]);
      const what = name ? `calls ${name} with ${args.length} arguments` : 'calls a value that is not a global';
      return fail(`its pickle ${what}, which a state dict saved by torch.save never does (file corrupt?); save the state dict alone: torch.save(model.state_dict(), PATH)`);
    },

    build(target, state) {
      // an OrderedDict's attributes: state_dict() sets `_metadata` (module versions), unused here
      if (target instanceof Map && (state instanceof Map || state === null)) return;
      fail('its pickle sets the state of an object other than a dict (BUILD), which a state dict saved by torch.save never does; save the state dict alone: torch.save(model.state_dict(), PATH)');
    },

    persistentLoad(pid) {
      if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
        return fail('its pickle loads a persistent object that is not a storage (torch.save writes (\'storage\', type, key, location, numel)); save it again with torch.save');
      }
      const [, type, key, , numel] = pid;
      if (!(type instanceof TorchGlobal) || !type.isStorageType || typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
        return fail('its pickle loads a storage whose type, key or size is malformed (file corrupt?); re-save or re-download it');
      }
      const dtype = type.dtype!;
      const known = storages.get(key);
      if (known) {
        if (known.dtype !== dtype || known.numel !== numel) fail(`its pickle reads storage ${quoted(key)} both as ${known.numel} ${known.dtype} and as ${numel} ${dtype} elements (file corrupt?); re-save it with torch.save`);
        return known;
      }
      const bytes = storageBytes(key);
      if (!bytes) return fail(`its pickle refers to storage ${quoted(key)}, but the archive has no data/${key.slice(0, 80)} entry (file truncated or corrupt?); re-save or re-download it`);
      const storage = TorchStorage.of(key, dtype, bytes, numel, fail);
      storages.set(key, storage);
      return storage;
    },
  };
}
