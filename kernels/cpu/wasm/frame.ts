import type { WasmHeap } from './heap';
import { ceilTo } from './ranges';

/**
 * What one kernel call lays out in the wasm heap (heap.ts): scratch, and the addresses of its
 * operands. An operand resident in the heap is used where it is; any other array is copied into
 * scratch (inputs before the call, outputs back after it). Addresses are in floats. Run a call
 * through WasmRuntime.frame, which ends the frame (frees its scratch) even when a kernel throws.
 */
export class KernelFrame {
  private readonly mark: number;
  private readonly extras: number[] = [];
  private readonly copies: { at: number; out: Float32Array; offset: number; count: number }[] = [];

  constructor(private readonly heap: WasmHeap) {
    this.mark = heap.beginFrame();
  }

  /** The whole memory as floats; take it again after allocating (growth may replace it). */
  get mem(): Float32Array {
    return this.heap.f32;
  }

  /** `floats` of scratch, 16-float aligned, contents undefined. */
  scratch(floats: number): number {
    return this.heap.scratch(floats * 4, this.extras) / 4;
  }

  /** Where the kernel reads x[offset, offset + count): x itself when resident, else a copy (room for whole vectors past the end either way). */
  input(x: Float32Array, offset = 0, count = x.length - offset): number {
    if (this.heap.resident(x)) return x.byteOffset / 4 + offset;
    const at = this.scratch(ceilTo(count, 4));
    this.mem.set(x.subarray(offset, offset + count), at);
    return at;
  }

  /**
   * Where the kernel writes out[offset, offset + count), writing `room` >= count floats from there
   * (whole vectors past the end): out itself when resident and the room is inside its block, else
   * scratch copied into out when the call ends.
   */
  output(out: Float32Array, offset = 0, count = out.length - offset, room = count): number {
    if (this.heap.resident(out)) {
      const at = out.byteOffset / 4 + offset;
      const end = room === count ? out.byteOffset + out.byteLength : this.heap.blockEnd(out);
      if (end !== null && (at + room) * 4 <= end) return at;
    }
    const at = this.scratch(ceilTo(room, 4));
    this.copies.push({ at, out, offset, count });
    return at;
  }

  /** Copies the outputs that were not resident (done: the kernels ran) and frees the scratch. */
  end(done: boolean): void {
    try {
      if (done) {
        const mem = this.mem;
        for (const { at, out, offset, count } of this.copies) out.set(mem.subarray(at, at + count), offset);
      }
    } finally {
      this.heap.endFrame(this.mark, this.extras);
    }
  }
}
