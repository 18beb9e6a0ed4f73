// What differs between Node and a browser, behind one interface. The core (src/, kernels/)
// imports the implementation as '#platform': package.json's "imports" map it to node.ts, or to
// browser.ts under the "browser" condition (npm run build:web). Nothing else in the core touches
// Node's modules or globals.

/** A worker thread (Node) or a Web Worker, as the engine uses them. */
export interface PlatformWorker {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(handler: (message: unknown) => void): void;
  /** Called once with why the worker is gone (an uncaught error, or its exit). */
  onFailure(handler: (why: string) => void): void;
  /** Lets Node exit while the worker still runs (a browser has no such notion). */
  unref(): void;
  terminate(): void;
}

/** The side of a worker that talks to its creator. */
export interface ParentPort {
  onMessage(handler: (message: unknown) => void): void;
  postMessage(message: unknown): void;
}

/** The WebGPU adapter a device worker found. */
export interface AdapterReport {
  /** e.g. "NVIDIA H100 80GB HBM3 (vulkan)" or "llvmpipe (LLVM 15.0.6, 256 bits) (opengles)". */
  description: string;
  backend: 'vulkan' | 'opengles' | 'browser' | 'default';
  software: boolean;
}

export type SettingName = 'ONESTEP_BACKEND' | 'ONESTEP_THREADS' | 'ONESTEP_RELAXED_SIMD';

export interface Platform {
  readonly name: 'node' | 'browser';
  /** A setting from the environment (Node: process.env; a browser has none: init() takes them). */
  setting(name: SettingName): string | undefined;
  /** Threads the CPU kernels use unless told: the cores Node reports; navigator.hardwareConcurrency in a browser. */
  defaultThreads(): number;
  /**
   * Whether this thread may block in Atomics.wait and share memory with workers: always in Node;
   * in a browser only in a worker of a cross-origin-isolated page. The synchronous kernels need
   * both for worker threads and for the webgpu backend.
   */
  canBlock(): boolean;
  /**
   * Lets WebAssembly compiled from now on use relaxed SIMD where this runtime has it behind a flag
   * (Node 20's V8); called only when it is missing (Node 22 and current browsers have it).
   */
  enableRelaxedSimd(): void;
  /** Whether SharedArrayBuffer can be made and posted (Node; a cross-origin-isolated page). */
  sharedMemory(): boolean;
  /**
   * Whether a worker started now runs before its creator yields to the event loop. True in Node;
   * false in a browser, where init() must start workers before the synchronous kernels wait on them.
   */
  workersStartAtOnce(): boolean;
  /** A worker running `source`: plain JavaScript that defines `function start(data)`, called with `data`. */
  scriptWorker(source: string, data: unknown): PlatformWorker;
  /** The gpu.js device worker (kernels/gpujs/worker.ts, or its bundled build in a browser); `webgpu`: it will open a WebGPU device. */
  deviceWorker(webgpu: boolean): PlatformWorker;
  /** In a worker: messages from its creator. */
  parentPort(): ParentPort;
  /** Makes `navigator.gpu` usable by gpu.js in this thread and reports the adapter (run in the device worker). */
  installWebGPU(): Promise<AdapterReport>;
  /** One line for the user: stderr in Node, the console in a browser. */
  log(line: string): void;
  /** Runs fn when the process is about to exit (Node); a page has no such moment. */
  beforeExit(fn: () => void): void;
  /** Resolves after other tasks of the event loop have had a turn. */
  yieldToEventLoop(): Promise<void>;
}

/**
 * Why this thread cannot run the CPU kernels on several threads or the webgpu backend, which wait
 * on workers through shared memory; null when it can.
 */
export function blockingProblem(p: Platform): string | null {
  if (p.sharedMemory() && p.canBlock()) return null;
  return 'it needs shared memory and a thread that may wait (Atomics.wait): in a browser, run onestep in a Web Worker of a cross-origin-isolated page ' +
    '(headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
}

/** An adapter's report from its `info` (WebGPU's GPUAdapterInfo) and the API it runs on. */
export function adapterReport(info: Record<string, string | boolean> | undefined, backend: AdapterReport['backend']): AdapterReport {
  const i = info ?? {};
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((x) => x);
  const description = `${parts.join(', ') || 'unknown adapter'} (${backend})`;
  return { description, backend, software: /llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(description) || i.isFallbackAdapter === true };
}
