// Storages and tensors as a checkpoint holds them. A storage is one zip entry of elements; a tensor
// is a contiguous run of a storage's elements with a shape. Several tensors can share a storage
// (torch.save keeps views of one tensor as views).
import { DTYPES, type TorchData, type TorchDType } from './dtypes';
import type { Fail } from './errors';
import { quoted } from './errors';

/** One storage of the archive: `numel` elements of `dtype`. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    /** The elements: a view of the archive's bytes where they are aligned for their type, else a copy. */
    readonly data: TorchData,
  ) {}

  get numel(): number {
    return this.data.length;
  }

  /** The storage of `bytes` read as `numel` elements of `dtype`; the byte count must match. */
  static of(key: string, dtype: TorchDType, bytes: Uint8Array, numel: number, fail: Fail): TorchStorage {
    const width = DTYPES[dtype].bytes;
    if (bytes.length !== numel * width) {
      fail(`its storage ${quoted(key)} should hold ${numel} ${dtype} elements (${numel * width} bytes) but its entry has ${bytes.length} bytes (file truncated or corrupt?); re-save or re-download it`);
    }
    // a typed array needs an offset that is a multiple of its element size: copy when it is not
    const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
    return new TorchStorage(key, dtype, DTYPES[dtype].view(aligned.buffer, aligned.byteOffset, numel));
  }
}

/** A tensor of a checkpoint: element type, shape and values (row-major, contiguous). */
export class TorchTensor {
  constructor(
    readonly dtype: TorchDType,
    readonly shape: number[],
    /**
     * The values, a view of the storage (so of the checkpoint's bytes where they were aligned):
     * writing to it writes into the bytes given to the reader. F16/BF16 are the raw 16-bit patterns
     * (`torchTensorToFloat32` converts them).
     */
    readonly data: TorchData,
  ) {}

  get numel(): number {
    return this.data.length;
  }
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * What `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...)` builds: the
 * tensor of `size` that starts at element `storage_offset` of `storage`. Only contiguous strides are
 * read (every tensor of a state dict saved as usual has them).
 */
export function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, fail: Fail): TorchTensor {
  if (!(storage instanceof TorchStorage)) return fail('its pickle rebuilds a tensor from something that is not a storage of the archive (file corrupt?); re-save it with torch.save');
  if (!isIndex(offset)) return fail(`its pickle rebuilds a tensor at storage offset ${String(offset)}, not a count of elements (file corrupt?); re-save it with torch.save`);
  if (!Array.isArray(size) || !size.every(isIndex) || !Array.isArray(stride) || stride.length !== size.length || !stride.every((s) => typeof s === 'number' && Number.isSafeInteger(s))) {
    return fail('its pickle rebuilds a tensor whose size and stride are not tuples of integers of the same length (file corrupt?); re-save it with torch.save');
  }
  const shape = [...(size as number[])];
  const strides = stride as number[];
  const described = `a tensor of shape [${shape.join(', ')}] at offset ${offset} of storage ${quoted(storage.key)} (${storage.numel} ${storage.dtype} elements)`;
  // the element count, stopping once it exceeds what the storage holds (a product can pass 2^53)
  let numel = shape.includes(0) ? 0 : 1;
  for (const s of shape) {
    if (numel === 0) break;
    numel *= s;
    if (numel > storage.numel) break;
  }
  if (offset + numel > storage.numel) fail(`its pickle rebuilds ${described}, which runs past the end of the storage (file corrupt?); re-save or re-download it`);
  let expected = 1;
  for (let d = shape.length - 1; d >= 0 && numel > 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) {
      fail(`its pickle rebuilds ${described} with strides [${strides.join(', ')}]: not contiguous (a transposed or channels-last view?), and onestep reads contiguous tensors only; save contiguous copies: torch.save({k: v.contiguous() for k, v in state_dict.items()}, PATH)`);
    }
    expected *= shape[d]!;
  }
  return new TorchTensor(storage.dtype, shape, storage.data.subarray(offset, offset + numel));
}
