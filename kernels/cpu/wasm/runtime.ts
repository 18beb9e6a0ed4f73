import platform from '#platform';
import { blockingProblem, type PlatformWorker } from '../../../src/platform/platform';
import { KernelFrame } from './frame';
import { WasmHeap } from './heap';
import { relaxedSimd } from './builder';
import { MAX_KERNEL_PARAMS, type ModuleFeatures } from './kernel-def';
import { buildKernelModule, KERNEL_NAMES, kernelEntry, positionalArgs, type KernelArgs, type KernelName } from './kernels';

// One WebAssembly.Memory holds the float32 tensors of the cpu backend and the kernels' scratch
// space (packed panels, results), as a heap (heap.ts); a call lays out its operands and scratch in
// a KernelFrame (frame.ts). The memory is shared wherever the platform can share memory. The
// kernel module is instantiated on the calling thread and on (threads - 1) workers; a parallel call
// hands each worker its argument list through a small shared control block, runs the first list
// itself, then waits (Atomics.wait) for the workers: a synchronous fork/join, so the Backend's
// kernels stay synchronous. Kernels are called with named arguments (kernels.ts's table gives
// each its parameters), turned into the positional list here, in parallel().
//
// In Node the workers start at once (getRuntime). A browser starts a worker only when its creator
// yields to the event loop, so there startRuntime() (from init()) must run first; with one thread
// (a page that is not cross-origin isolated) no worker and no shared memory are needed.

const SEQ = 0, DONE = 1, FN = 2, ARGC = 3, FAILED = 4, READY = 5, ARGS = 8;
const CTRL_INTS = ARGS + MAX_KERNEL_PARAMS;
/**
 * Bytes of a worker's error message (UTF-8) that reach the caller. A failed call sets FAILED to
 * the message's length + 1; a worker that cannot start sets READY to minus that (1 once started).
 */
const MESSAGE_BYTES = 1024;
/** How long the constructor waits for the workers to instantiate the module. */
const STARTUP_MS = 60_000;

// Plain JavaScript, run in each worker (platform.scriptWorker calls start with the worker's data):
// instantiate the module, then serve calls. Errors go back as text through the shared message
// buffer (truncated to its size).
const WORKER_SOURCE = `
function start({ module, memory, ctrl, message, names }) {
const c = new Int32Array(ctrl);
const text = new Uint8Array(message);
const encoder = new TextEncoder();
const report = (e) => {
  let m;
  try { m = e instanceof Error ? e.name + ': ' + e.message : String(e); } catch { m = 'unprintable error'; }
  return encoder.encodeInto(m, text).written + 1;
};
let fns = null;
try {
  const exportsObj = new WebAssembly.Instance(module, { env: { memory } }).exports;
  fns = names.map((n) => exportsObj[n]);
  Atomics.store(c, ${READY}, 1);
} catch (e) {
  Atomics.store(c, ${READY}, -report(e));
}
Atomics.notify(c, ${READY});
let seen = 0;
while (fns) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  if (seen < 0) break;
  try {
    const args = [];
    for (let i = 0; i < c[${ARGC}]; i++) args.push(c[${ARGS} + i]);
    fns[c[${FN}]](...args);
    c[${FAILED}] = 0;
  } catch (e) {
    c[${FAILED}] = report(e);
  }
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
}
`;

const readMessage = (slot: { message: Uint8Array }, length: number): string => new TextDecoder().decode(slot.message.slice(0, length));

interface WorkerSlot {
  worker: PlatformWorker;
  ctrl: Int32Array;
  /** Where the worker writes the message of an error its kernel raised (UTF-8). */
  message: Uint8Array;
  seq: number;
}

class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  readonly heap: WasmHeap;
  /** The optional instructions its module was built with. */
  readonly features: ModuleFeatures;
  private readonly kernels: Record<KernelName, (...args: number[]) => void>;
  private readonly workers: WorkerSlot[] = [];

  /** Compiles the kernel module and starts the workers; call awaitStartup (or startupDone) before the first call. */
  constructor(threads: number, module: WebAssembly.Module, shared: boolean, features: ModuleFeatures) {
    this.features = features;
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared });
    this.heap = new WasmHeap(this.memory, shared);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    const exported = Object.keys(instance.exports);
    if (exported.join() !== KERNEL_NAMES.join()) {
      throw new Error(`wasm runtime: the module exports [${exported.join(', ')}], the kernel table lists [${KERNEL_NAMES.join(', ')}].`);
    }
    this.kernels = Object.fromEntries(KERNEL_NAMES.map((n) => [n, instance.exports[n]])) as typeof this.kernels;
    this.threads = threads;
    for (let i = 1; i < threads; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
      const message = new Uint8Array(new SharedArrayBuffer(MESSAGE_BYTES));
      const worker = platform.scriptWorker(WORKER_SOURCE, { module, memory: this.memory, ctrl: ctrl.buffer, message: message.buffer, names: KERNEL_NAMES });
      worker.unref();
      this.workers.push({ worker, ctrl, message, seq: 0 });
    }
  }

  /**
   * Blocks until every worker has instantiated the module: a worker that cannot start would
   * otherwise leave parallel() waiting for it forever. Throws with the worker's message.
   */
  awaitStartup(): void {
    const deadline = Date.now() + STARTUP_MS;
    this.workers.forEach((slot, k) => {
      let ready = Atomics.load(slot.ctrl, READY);
      while (ready === 0 && Date.now() < deadline) {
        Atomics.wait(slot.ctrl, READY, 0, deadline - Date.now());
        ready = Atomics.load(slot.ctrl, READY);
      }
      this.checkStarted(slot, k, ready);
    });
  }

  /** awaitStartup without blocking: for a browser, whose workers start only while their creator yields. */
  async startupDone(): Promise<void> {
    const deadline = Date.now() + STARTUP_MS;
    for (const [k, slot] of this.workers.entries()) {
      let failure: string | null = null;
      slot.worker.onFailure((why) => (failure = why));
      while (Atomics.load(slot.ctrl, READY) === 0 && failure === null && Date.now() < deadline) await platform.yieldToEventLoop();
      if (failure !== null) {
        this.terminate();
        throw new Error(`wasm runtime: worker thread ${k + 1} could not start: ${failure}`);
      }
      this.checkStarted(slot, k, Atomics.load(slot.ctrl, READY));
    }
  }

  private checkStarted(slot: WorkerSlot, k: number, ready: number): void {
    if (ready === 1) return;
    this.terminate();
    throw new Error(ready < 0
      ? `wasm runtime: worker thread ${k + 1} could not start: ${readMessage(slot, -ready - 1)}`
      : `wasm runtime: worker thread ${k + 1} did not start within ${STARTUP_MS / 1000} s.`);
  }

  /** Stops the workers (a runtime replaced by another, or one that failed to start). */
  terminate(): void {
    for (const w of this.workers) w.worker.terminate();
  }

  /**
   * Runs `body` with a fresh KernelFrame: scratch and operand addresses for one kernel call. Its
   * outputs that were not resident are copied back when body returns; its scratch is freed either way.
   */
  frame<T>(body: (frame: KernelFrame) => T): T {
    const frame = new KernelFrame(this.heap);
    let done = false;
    try {
      const result = body(frame);
      done = true;
      return result;
    } finally {
      frame.end(done);
    }
  }

  /** The kernels this runtime can run: the table's names (kernels.ts), in its order. */
  get kernelNames(): readonly KernelName[] {
    return Object.keys(this.kernels) as KernelName[];
  }

  /**
   * Runs kernel `name` once per argument object (its parameters by name, kernels.ts): the first
   * here, the rest on workers, in parallel. Every object is checked and turned into the kernel's
   * positional list before any runs: a missing or unknown name throws. Waits for every worker
   * even when a kernel throws (the next call reuses their control blocks), then throws the first
   * error: the main thread's as it is, a worker's with its message.
   */
  parallel<N extends KernelName>(name: N, named: readonly KernelArgs<N>[]): void {
    const { index: fn, def } = kernelEntry(name);
    const argLists = named.map((args) => positionalArgs<number>(def, args));
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
    let error: unknown = null;
    try {
      if (argLists.length > 0) this.kernels[name](...argLists[0]!);
    } catch (e) {
      error = e;
    }
    posted.forEach((slot, k) => {
      for (;;) {
        const done = Atomics.load(slot.ctrl, DONE);
        if (done === slot.seq) break;
        Atomics.wait(slot.ctrl, DONE, done);
      }
      const failed = slot.ctrl[FAILED]!;
      if (failed && !error) {
        error = workerError(name, k + 1, argLists[k + 1]!, readMessage(slot, failed - 1));
      }
    });
    if (error) throw error;
  }
}

/** The caller's error for a kernel that threw on worker `thread` (1-based; 0 is the caller's own). */
function workerError(name: KernelName, thread: number, args: readonly number[], message: string): Error {
  return new Error(`wasm kernel '${name}' failed on worker thread ${thread} (arguments [${args.join(', ')}]): ${message}`);
}

let runtime: WasmRuntime | null = null;

/**
 * The optional instructions the kernel module uses: relaxed SIMD's fused multiply-add where this
 * WebAssembly has it (README, "Speed"), unless the setting ONESTEP_RELAXED_SIMD is 0
 * (plain SIMD: the same bits on every machine).
 */
function moduleFeatures(): ModuleFeatures {
  const setting = platform.setting('ONESTEP_RELAXED_SIMD');
  if (setting !== undefined && setting !== '0' && setting !== '1') throw new Error(`ONESTEP_RELAXED_SIMD must be 0 or 1, got '${setting}'.`);
  if (setting === '0') return { relaxedMadd: false };
  if (relaxedSimd()) return { relaxedMadd: true };
  platform.enableRelaxedSimd();
  return { relaxedMadd: relaxedSimd() };
}

/** Shared memory (tensors resident in the heap) wherever the platform has it; threads need it. */
const sharesMemory = (threads: number): boolean => threads > 1 || platform.sharedMemory();

/** Threads: `requested`, else the setting ONESTEP_THREADS, else the platform's core count. */
function threadCount(requested?: number): number {
  const setting = platform.setting('ONESTEP_THREADS');
  const n = requested ?? Number(setting || platform.defaultThreads());
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(requested !== undefined
      ? `threads must be a positive integer, got ${requested}.`
      : `ONESTEP_THREADS must be a positive integer, got '${setting}'.`);
  }
  const problem = n > 1 ? blockingProblem(platform) : null;
  if (problem) throw new Error(`The CPU kernels cannot run ${n} threads here: ${problem}; or ask for threads: 1.`);
  return n;
}

/** The runtime if one has started (disposing a buffer should not start one). */
export function runtimeIfStarted(): WasmRuntime | null {
  return runtime;
}

/**
 * The runtime of the CPU kernels, started on first use with the default thread count where the
 * platform's workers start at once (Node); elsewhere with one thread unless startRuntime ran.
 */
export function getRuntime(): WasmRuntime {
  if (!runtime) {
    const threads = platform.workersStartAtOnce() || platform.setting('ONESTEP_THREADS') ? threadCount() : 1;
    const shared = sharesMemory(threads), features = moduleFeatures();
    const r = new WasmRuntime(threads, new WebAssembly.Module(buildKernelModule(shared, features)), shared, features);
    r.awaitStartup();
    runtime = r;
  }
  return runtime;
}

/**
 * Starts the runtime with `threads` (default: the setting, else the platform's core count, else 1
 * where threads cannot share memory) without blocking, replacing one that runs with another count.
 */
export async function startRuntime(threads?: number): Promise<WasmRuntime> {
  const n = threads ?? (blockingProblem(platform) ? 1 : threadCount());
  if (threads !== undefined) threadCount(threads);
  const shared = sharesMemory(n), features = moduleFeatures();
  if (runtime?.threads === n && runtime.heap.residentTensors === shared && runtime.features.relaxedMadd === features.relaxedMadd) return runtime;
  const r = new WasmRuntime(n, await WebAssembly.compile(buildKernelModule(shared, features)), shared, features);
  await r.startupDone();
  runtime?.terminate();
  runtime = r;
  return r;
}
