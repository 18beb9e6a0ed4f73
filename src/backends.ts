// Backend selection: the one module that names concrete kernels.
import platform from '#platform';
import { cpuBackend, cpuReferenceBackend } from '../kernels/cpu/index';
import { getRuntime, startRuntime } from '../kernels/cpu/wasm/runtime';
import { createGpujsBackend, startGpujsBackend, type GpujsBackend } from '../kernels/gpujs/backend';
import type { GpujsMode } from '../kernels/gpujs/host';
import type { Backend, DType } from './backend/backend';

export type BackendName = 'cpu' | 'cpu-reference' | GpujsMode;
const BACKEND_NAMES = ['cpu', 'cpu-reference', 'webgpu', 'webasm', 'gpujs-cpu', 'auto'] as const;

const gpujs = new Map<GpujsMode, GpujsBackend>();

/** The gpu.js backend of `mode`, started on first use (one device worker per mode). */
export function gpujsBackend(mode: GpujsMode): GpujsBackend {
  let b = gpujs.get(mode);
  if (!b) {
    b = createGpujsBackend(mode);
    gpujs.set(mode, b);
  }
  return b;
}

let current: Backend | null = null;

function resolve(name: string): Backend {
  switch (name) {
    case 'cpu': return cpuBackend as Backend;
    case 'cpu-reference': return cpuReferenceBackend as Backend;
    case 'webgpu':
    case 'webasm':
    case 'gpujs-cpu':
      return gpujsBackend(name) as Backend;
    case 'auto': return pickAuto();
  }
  throw new Error(
    `Unknown backend '${name}'. Available: ${BACKEND_NAMES.join(', ')}. ` +
      `Set ONESTEP_BACKEND, or call init() or setBackend() with one of them.`,
  );
}

/**
 * 'auto': WebGPU on a hardware adapter, else the CPU backend (on a machine without a GPU, WebGPU
 * runs on a software rasteriser, far slower than the WebAssembly CPU kernels). Says which it
 * picked, once (platform.log: stderr in Node).
 */
function pickAuto(): Backend {
  try {
    return announceAuto(judgeAdapter(gpujsBackend('webgpu')));
  } catch (e) {
    return announceAuto({ choice: cpuBackend as Backend, why: `no WebGPU: ${(e as Error).message.split('. ')[0]}` });
  }
}

/** 'auto''s choice given the WebGPU backend: it on a hardware adapter, else the CPU backend. */
function judgeAdapter(gpu: GpujsBackend): { choice: Backend; why: string } {
  if (gpu.adapter && !gpu.adapter.software) return { choice: gpu as Backend, why: `WebGPU adapter ${gpu.adapter.description}` };
  return {
    choice: cpuBackend as Backend,
    why: `the only WebGPU adapter is a software one (${gpu.adapter?.description}); the CPU kernels are faster`,
  };
}

function announceAuto({ choice, why }: { choice: Backend; why: string }): Backend {
  platform.log(`onestep: backend auto -> ${choice.name} (${why})`);
  return choice;
}

/** Picks the backend for new tensors; the environment variable ONESTEP_BACKEND sets the default. */
export function setBackend(name: BackendName | 'auto'): Backend {
  current = resolve(name);
  return current;
}

export function getBackend(): Backend {
  if (!current) current = resolve(platform.setting('ONESTEP_BACKEND') || 'cpu');
  return current;
}

/** The backend that holds tensors of `dtype`: the current one, or the CPU reference if it lacks the dtype. */
export function backendFor(dtype: DType): Backend {
  const b = getBackend();
  return b.supportsDType(dtype) ? b : (cpuReferenceBackend as Backend);
}

/** Runs fn with `backend` as the backend for new tensors, then restores the previous one. */
export function withBackend<T>(backend: BackendName | 'auto' | Backend, fn: () => T): T {
  const previous = getBackend();
  current = typeof backend === 'string' ? resolve(backend) : backend;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

export interface EngineOptions {
  /** The backend for new tensors (default: the setting ONESTEP_BACKEND, else 'cpu'). */
  backend?: BackendName | 'auto';
  /**
   * Threads of the CPU kernels (default: the setting ONESTEP_THREADS, else every core where
   * threads can share memory; 1 on a browser page that is not cross-origin isolated).
   */
  threads?: number;
}

const GPUJS_MODES: readonly string[] = ['webgpu', 'webasm', 'gpujs-cpu'] satisfies GpujsMode[];
/** The last init() call: calls run one after another, so a device worker is started once. */
let initialising: Promise<unknown> = Promise.resolve();

/**
 * Starts the CPU kernels' threads and, for a gpu.js backend, its device worker, without blocking,
 * then makes the backend current and returns it. Optional in Node (everything starts on first
 * use); in a browser needed for more than one CPU thread and for 'webgpu', because a browser starts
 * a worker only while its creator yields to the event loop. 'auto' picks WebGPU on a hardware
 * adapter, else 'cpu'. Calls run one after another: the last one's thread count holds.
 */
export function init(options: EngineOptions = {}): Promise<Backend> {
  const run = initialising.then(() => initNow(options));
  initialising = run.catch(() => undefined);
  return run;
}

async function initNow(options: EngineOptions): Promise<Backend> {
  const name = options.backend ?? (platform.setting('ONESTEP_BACKEND') as BackendName | undefined) ?? 'cpu';
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) resolve(name); // throws: unknown name
  await startRuntime(options.threads);
  if (GPUJS_MODES.includes(name) || name === 'auto') {
    const mode = (name === 'auto' ? 'webgpu' : name) as GpujsMode;
    let gpu: GpujsBackend;
    try {
      gpu = await startDeviceWorker(mode);
    } catch (e) {
      if (name !== 'auto') throw e;
      return (current = announceAuto({ choice: cpuBackend as Backend, why: `no WebGPU: ${(e as Error).message.split('. ')[0]}` }));
    }
    if (name === 'auto') return (current = announceAuto(judgeAdapter(gpu)));
  }
  return (current = resolve(name));
}

async function startDeviceWorker(mode: GpujsMode): Promise<GpujsBackend> {
  let b = gpujs.get(mode);
  if (!b) {
    b = await startGpujsBackend(mode);
    gpujs.set(mode, b);
  }
  return b;
}

/** The CPU kernels' thread count (starting them, as the first kernel would, if nothing has). */
export function cpuThreads(): number {
  return getRuntime().threads;
}
