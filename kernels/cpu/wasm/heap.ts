// The wasm runtime's memory as a heap: float32 tensors carved out of it (so the kernels read and
// write them in place, no copy in or out) and the kernels' scratch space, a stack of frames.
//
// Growth is handled here and only here. A shared WebAssembly.Memory never detaches on growth
// (views made before stay valid, they just cannot see the new pages), so tensors live in the heap
// only when the memory is shared (Node; a cross-origin-isolated page). An unshared memory (a page
// that is not isolated, one thread) detaches every view when it grows: there the heap holds
// scratch only, tensors stay ordinary arrays and kernels copy them in and out, as KernelFrame does
// for any array that is not resident.
//
// Blocks are 64-byte aligned and rounded up to 64 bytes, so a kernel that writes whole f32x4
// vectors past a tensor's last element stays inside its block; SLACK bytes above the top keep a
// vector read of a view's last elements inside the memory. Freed tensor blocks go to a free list
// of their size (the same sizes come back every step of a training loop); a tensor dropped
// without dispose is freed when the garbage collector finalises its view. That may be late: a
// view is a few bytes to the collector, whatever its block's size, so dropped views put no
// pressure on it. Tensor blocks therefore stop at `tensorBudget` bytes of the memory; past it,
// tensor() returns null and the caller makes an ordinary array (which the collector does see), so
// code that never disposes runs as it did before the heap, only without the in-place speed.

const PAGE = 65536;
const ALIGN = 64;
const SLACK = 256;
/** Address 0..BASE stays unused: a kernel handed a null address fails its parity test, not silently. */
const BASE = 1024;

const roundUp = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

export class WasmHeap {
  private top = BASE;
  /** Free blocks by size; a disposed tensor's block keeps its view, handed out again when the size matches. */
  private readonly freeBlocks = new Map<number, { address: number; view?: Float32Array }[]>();
  private idle = 0;
  /** The memory's ArrayBuffers seen so far (a new one after each growth of a shared memory). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private readonly dropped = new FinalizationRegistry<number>((address) => this.dropTensor(address));
  private readonly blockBytes = new Map<number, number>();
  private view: Float32Array;
  // scratch: an arena used as a stack by nested frames, resized to the deepest demand seen
  private arena = { address: 0, bytes: 0 };
  private arenaUsed = 0;
  private peakDemand = 0;

  /** Bytes of tensor blocks handed out and not yet given back. */
  private tensorBytes = 0;

  constructor(private readonly memory: WebAssembly.Memory, readonly residentTensors: boolean, readonly tensorBudget = 1024 * 2 ** 20) {
    this.view = new Float32Array(memory.buffer);
    this.buffers.add(memory.buffer);
  }

  /** A Float32Array over the whole memory, renewed after growth (the old one may be detached). */
  get f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer || this.view.length * 4 !== this.memory.buffer.byteLength) {
      this.view = new Float32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
    return this.view;
  }

  /** Whether `x` is a view of this heap's memory (a kernel can use it where it is). */
  resident(x: Float32Array): boolean {
    return this.buffers.has(x.buffer);
  }

  /** Bytes in freed blocks (tensors, or scratch a frame outgrew) waiting for reuse. */
  get idleBytes(): number {
    return this.idle;
  }

  /**
   * A float32 array of `size` elements resident in the heap, or null where tensors cannot live
   * here (unshared memory) or the memory cannot grow (4 GiB): the caller makes an ordinary array.
   */
  tensor(size: number): Float32Array | null {
    if (!this.residentTensors) return null;
    const bytes = roundUp(Math.max(1, size) * 4);
    if (this.tensorBytes + bytes > this.tensorBudget) return null;
    const block = this.takeBlock(bytes);
    if (block === null) return null;
    this.tensorBytes += bytes;
    const view = block.view?.length === size ? block.view : new Float32Array(this.f32.buffer, block.address, size);
    this.dropped.register(view, block.address, view);
    return view;
  }

  /** Returns a tensor's block for reuse; false for an array this heap did not hand out (or handed back already). */
  dispose(x: Float32Array): boolean {
    if (!this.resident(x) || !this.dropped.unregister(x)) return false;
    this.dropTensor(x.byteOffset, x);
    return true;
  }

  /** The end address of the block x is (null when x is not a whole block: a part of one, or not resident). */
  blockEnd(x: Float32Array): number | null {
    const bytes = this.resident(x) ? this.blockBytes.get(x.byteOffset) : undefined;
    return bytes === roundUp(x.byteLength) ? x.byteOffset + bytes : null;
  }

  /** Scratch frames: begin returns a mark; scratch() allocates above it; end(mark) frees back to it. */
  beginFrame(): number {
    return this.arenaUsed;
  }

  /** `bytes` of scratch for the frame begun at `mark` (address, ALIGN-aligned); extra blocks when the arena is full. */
  scratch(bytes: number, extras: number[]): number {
    const size = roundUp(bytes);
    this.peakDemand = Math.max(this.peakDemand, this.arenaUsed + size + extras.reduce((s, a) => s + this.blockBytes.get(a)!, 0));
    if (this.arenaUsed + size <= this.arena.bytes) {
      const address = this.arena.address + this.arenaUsed;
      this.arenaUsed += size;
      return address;
    }
    const address = this.takeBlock(size)?.address;
    if (address === undefined) throw new Error(`wasm heap: cannot grow the memory for ${size} bytes of kernel scratch (4 GiB is WebAssembly's limit).`);
    extras.push(address);
    return address;
  }

  /** Ends a frame: its scratch is free again; when it needed extra blocks, the arena grows to the peak for next time. */
  endFrame(mark: number, extras: number[]): void {
    this.arenaUsed = mark;
    for (const address of extras.reverse()) this.dropBlock(address);
    if (mark === 0 && this.peakDemand > this.arena.bytes) {
      if (this.arena.bytes) this.dropBlock(this.arena.address);
      const address = this.takeBlock(this.peakDemand)?.address;
      this.arena = address === undefined ? { address: 0, bytes: 0 } : { address, bytes: this.peakDemand };
    }
  }

  private takeBlock(bytes: number): { address: number; view?: Float32Array } | null {
    const reused = this.freeBlocks.get(bytes)?.pop();
    if (reused) {
      this.idle -= bytes;
      this.blockBytes.set(reused.address, bytes);
      return reused;
    }
    const address = this.top;
    const needed = address + bytes + SLACK - this.memory.buffer.byteLength;
    if (needed > 0) {
      try {
        this.memory.grow(Math.ceil(needed / PAGE));
      } catch {
        return null;
      }
    }
    this.top += bytes;
    this.blockBytes.set(address, bytes);
    return { address };
  }

  private dropTensor(address: number, view?: Float32Array): void {
    this.tensorBytes -= this.blockBytes.get(address) ?? 0;
    this.dropBlock(address, view);
  }

  private dropBlock(address: number, view?: Float32Array): void {
    const bytes = this.blockBytes.get(address);
    if (bytes === undefined) return;
    this.blockBytes.delete(address);
    if (address + bytes === this.top && !view) {
      this.top = address;
      return;
    }
    let list = this.freeBlocks.get(bytes);
    if (!list) this.freeBlocks.set(bytes, (list = []));
    list.push({ address, view });
    this.idle += bytes;
  }
}
