import type { DType, TypedArray } from '../../src/backend/backend';

// Buffers that tidy() or dispose() gave back, reused by the next alloc of the same size and
// dtype. A fresh multi-megabyte typed array is zeroed memory the OS maps page by page on first
// touch; a U-Net forward allocates ~140 of them, and the same sizes every step. A reused buffer
// keeps its old contents: Backend.alloc promises none, every op writes all of its output
// (zeroing them again cost 11 ms of a 125 ms forward).

/** Buffers below this many elements are cheap to allocate and are not pooled. */
const MIN_ELEMENTS = 1 << 12;

export class BufferPool {
  private readonly free = new Map<string, TypedArray[]>();
  private readonly pooled = new WeakSet<TypedArray>();
  private bytes = 0;

  /** At most maxBytes of idle buffers are kept; beyond that, freed buffers go to the garbage collector. */
  constructor(readonly maxBytes = 512 * 2 ** 20) {}

  alloc(size: number, dtype: DType): TypedArray {
    const list = size >= MIN_ELEMENTS ? this.free.get(`${dtype}:${size}`) : undefined;
    const reused = list?.pop();
    if (!reused) return dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
    this.pooled.delete(reused);
    this.bytes -= reused.byteLength;
    return reused;
  }

  /** Takes a buffer nobody uses any more; giving the same buffer twice is harmless. */
  dispose(buffer: TypedArray): void {
    if (buffer.length < MIN_ELEMENTS || this.pooled.has(buffer) || this.bytes + buffer.byteLength > this.maxBytes) return;
    if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return; // a view: its owner decides
    const key = `${buffer instanceof Float32Array ? 'float32' : 'float64'}:${buffer.length}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.pooled.add(buffer);
    this.bytes += buffer.byteLength;
  }

  /** Idle bytes held. */
  get idleBytes(): number {
    return this.bytes;
  }
}
