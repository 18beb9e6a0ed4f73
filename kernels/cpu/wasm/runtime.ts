import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BINARY_OPS } from './binary-module';
import { buildKernelModule } from './gemm-module';

// One shared WebAssembly.Memory holds the kernels' scratch space (packed panels, results). The
// kernel module is instantiated on the main thread and on (threads - 1) workers; a parallel call
// hands each worker its argument list through a small shared control block, runs the first list
// itself, then waits (Atomics.wait) for the workers: a synchronous fork/join, so the Backend's
// kernels stay synchronous.

const PAGE = 65536;
const CTRL_INTS = 32;
const SEQ = 0, DONE = 1, FN = 2, ARGC = 3, FAILED = 4, ARGS = 8;

// Plain JavaScript, run with eval in each worker: instantiate the module, then serve calls.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, names } = workerData;
const exportsObj = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => exportsObj[n]);
const c = new Int32Array(ctrl);
let seen = 0;
for (;;) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  if (seen < 0) break;
  try {
    const args = [];
    for (let i = 0; i < c[${ARGC}]; i++) args.push(c[${ARGS} + i]);
    fns[c[${FN}]](...args);
    c[${FAILED}] = 0;
  } catch (e) {
    c[${FAILED}] = 1;
  }
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

const BINARY_KERNELS = BINARY_OPS.flatMap((op) => [`binarySame_${op}`, `binaryRows_${op}`] as const);
export const KERNEL_NAMES = [
  'gemm', 'im2col', 'im2colT', 'packA', 'convImages', 'convGradWeightImages', 'packB', 'silu', 'siluGrad', 'winogradImages', 'groupNorm',
  ...BINARY_KERNELS,
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

interface WorkerSlot {
  worker: Worker;
  ctrl: Int32Array;
  seq: number;
}

class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  private readonly kernels: Record<KernelName, (...args: number[]) => void>;
  private readonly workers: WorkerSlot[] = [];

  constructor(threads: number) {
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
    const module = new WebAssembly.Module(buildKernelModule());
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.kernels = Object.fromEntries(KERNEL_NAMES.map((n) => [n, instance.exports[n]])) as typeof this.kernels;
    this.threads = threads;
    for (let i = 1; i < threads; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory: this.memory, ctrl: ctrl.buffer, names: KERNEL_NAMES },
      });
      worker.unref();
      this.workers.push({ worker, ctrl, seq: 0 });
    }
  }

  /** Makes the memory at least `bytes` long; returns a fresh Float32Array view of all of it. */
  reserve(bytes: number): Float32Array {
    const missing = bytes - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    return new Float32Array(this.memory.buffer);
  }

  /** Runs kernel `name` once per argument list: the first here, the rest on workers, in parallel. */
  parallel(name: KernelName, argLists: readonly (readonly number[])[]): void {
    const fn = KERNEL_NAMES.indexOf(name);
    const posted: WorkerSlot[] = [];
    for (let i = 1; i < argLists.length; i++) {
      const slot = this.workers[i - 1];
      if (!slot) throw new Error(`wasm runtime: ${argLists.length} argument lists for ${this.threads} threads.`);
      const args = argLists[i]!;
      slot.ctrl[FN] = fn;
      slot.ctrl[ARGC] = args.length;
      args.forEach((v, j) => (slot.ctrl[ARGS + j] = v));
      slot.seq++;
      Atomics.store(slot.ctrl, SEQ, slot.seq);
      Atomics.notify(slot.ctrl, SEQ);
      posted.push(slot);
    }
    if (argLists.length > 0) this.kernels[name](...argLists[0]!);
    for (const slot of posted) {
      for (;;) {
        const done = Atomics.load(slot.ctrl, DONE);
        if (done === slot.seq) break;
        Atomics.wait(slot.ctrl, DONE, done);
      }
      if (slot.ctrl[FAILED]) throw new Error(`wasm kernel '${name}' failed on a worker thread.`);
    }
  }
}

let runtime: WasmRuntime | null = null;

/** Threads: ONESTEP_THREADS, else the number of cores Node reports. */
export function getRuntime(): WasmRuntime {
  if (!runtime) {
    const requested = Number(process.env.ONESTEP_THREADS || availableParallelism());
    if (!Number.isInteger(requested) || requested < 1) {
      throw new Error(`ONESTEP_THREADS must be a positive integer, got '${process.env.ONESTEP_THREADS}'.`);
    }
    runtime = new WasmRuntime(requested);
  }
  return runtime;
}

export type { WasmRuntime };
