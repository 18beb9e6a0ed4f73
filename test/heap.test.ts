import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { KernelFrame } from '../kernels/cpu/wasm/frame';
import { WasmHeap } from '../kernels/cpu/wasm/heap';

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

const memory = (shared: boolean) => new WebAssembly.Memory({ initial: 1, maximum: 1024, shared });
const PAGE = 65536;

describe('the wasm heap', () => {
  it('carves aligned tensors out of a shared memory, reuses a disposed block for the same size, and keeps views valid across growth', () => {
    const mem = memory(true), heap = new WasmHeap(mem, true);
    const a = heap.tensor(5000)!, b = heap.tensor(3)!;
    expect(a.buffer).toBe(mem.buffer);
    expect(a.byteOffset % 64).toBe(0);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
    expect(heap.resident(a) && !heap.resident(new Float32Array(4))).toBe(true);
    a.fill(1.5);
    // 64-byte blocks: a vector write past a tensor's last element stays in its block
    expect(heap.blockEnd(a)! - a.byteOffset).toBe(Math.ceil(5000 * 4 / 64) * 64);
    expect(heap.blockEnd(a.subarray(1))).toBe(null);
    expect(heap.blockEnd(a.subarray(0, 100))).toBe(null); // a part of a block, even from its start
    expect(heap.dispose(a)).toBe(true);
    expect(heap.dispose(a)).toBe(false); // twice: once
    expect(heap.dispose(new Float32Array(5000))).toBe(false);
    expect(heap.idleBytes).toBe(20032);
    expect(heap.tensor(5000)).toBe(a);
    expect(heap.idleBytes).toBe(0);
    // growth: a shared memory's old views stay valid and are still resident
    const big = heap.tensor(4 * PAGE)!;
    expect(mem.buffer.byteLength).toBeGreaterThan(16 * PAGE);
    expect(big.buffer).not.toBe(a.buffer);
    expect(a[4999]).toBe(1.5);
    expect(heap.resident(a) && heap.resident(big)).toBe(true);
    expect(heap.f32.length * 4).toBe(mem.buffer.byteLength);
  });

  it('frees the block of a tensor the garbage collector reclaimed', async () => {
    const heap = new WasmHeap(memory(true), true);
    const address = (() => heap.tensor(8192)!.byteOffset)();
    const after = heap.tensor(4096)!; // keeps the dropped block below the top, so it goes to the free list
    for (let i = 0; i < 50 && heap.idleBytes === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(heap.idleBytes).toBe(8192 * 4);
    expect(heap.tensor(8192)!.byteOffset).toBe(address);
    expect(after.byteOffset).toBe(address + 8192 * 4);
  });

  it('stops carving tensors at its budget (dropped views put no pressure on the collector): ordinary arrays take over', () => {
    const mem = memory(true), heap = new WasmHeap(mem, true, 64 * 1024);
    const kept = Array.from({ length: 4 }, () => heap.tensor(4096));
    expect(kept.every((t) => t !== null)).toBe(true);
    expect(heap.tensor(4096)).toBe(null); // 4 x 16 KiB: the budget is spent
    heap.dispose(kept[0]!);
    expect(heap.tensor(4096)).toBe(kept[0]); // a freed block counts against it no more
    const grown = mem.buffer.byteLength;
    for (let i = 0; i < 100; i++) expect(heap.tensor(1000)).toBe(null);
    expect(mem.buffer.byteLength).toBe(grown);
    // scratch is not tensors: frames still get theirs
    const frame = new KernelFrame(heap);
    expect(frame.scratch(100_000)).toBeGreaterThan(0);
    frame.end(true);
  });

  it('holds no tensors in an unshared memory (growth would detach them), and renews its view after growth', () => {
    const mem = memory(false), heap = new WasmHeap(mem, false);
    expect(heap.tensor(5000)).toBe(null);
    const before = heap.f32;
    const frame = new KernelFrame(heap);
    const at = frame.scratch(2 * PAGE);
    expect(before.length).toBe(0); // detached by the growth
    expect(heap.f32.length * 4).toBe(mem.buffer.byteLength);
    frame.mem[at] = 3;
    expect(frame.mem[at]).toBe(3);
    frame.end(true);
  });
});

describe('kernel frames', () => {
  it('use a resident operand in place, copy any other in (inputs) and back (outputs), and free scratch as a stack', () => {
    const heap = new WasmHeap(memory(true), true);
    const resident = heap.tensor(6)!, plain = Float32Array.of(1, 2, 3, 4, 5, 6);
    resident.set(plain);
    const outer = new KernelFrame(heap);
    expect(outer.input(resident, 2)).toBe(resident.byteOffset / 4 + 2);
    const copied = outer.input(plain, 1, 4);
    expect(Array.from(outer.mem.subarray(copied, copied + 4))).toEqual([2, 3, 4, 5]);
    const out = new Float32Array(3);
    const outAt = outer.output(out);
    outer.mem.set([7, 8, 9], outAt);
    // a resident output is written in place, if the room the kernel writes fits its block
    expect(outer.output(resident, 0, 6, 8)).toBe(resident.byteOffset / 4);
    expect(outer.output(resident.subarray(2), 0, 4, 8)).not.toBe(resident.byteOffset / 4 + 2);
    expect(outer.output(resident.subarray(2), 0, 4)).toBe(resident.byteOffset / 4 + 2);
    const inner = new KernelFrame(heap);
    const innerAt = inner.scratch(16);
    expect(innerAt).toBeGreaterThan(copied);
    inner.end(true);
    expect(new KernelFrame(heap).scratch(16)).toBe(innerAt); // the inner frame's scratch was free again
    outer.end(true);
    expect(Array.from(out)).toEqual([7, 8, 9]);
  });

  it('grow their arena to the deepest demand, so a repeated call finds its scratch in place', () => {
    const heap = new WasmHeap(memory(true), true);
    const call = () => {
      const f = new KernelFrame(heap);
      const at = [f.scratch(1000), f.scratch(3000), f.scratch(500)];
      f.end(true);
      return at;
    };
    call();
    const top = heap.f32.length;
    const second = call();
    expect(call()).toEqual(second);
    expect(second[1]! - second[0]!).toBe(1008); // aligned to 16 floats
    expect(heap.f32.length).toBe(top);
  });
});
