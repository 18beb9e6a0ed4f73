// Backend selection: the one module that names concrete kernels.
import { cpuBackend, cpuReferenceBackend } from '../kernels/cpu/index';
import { createGpujsBackend, type GpujsBackend } from '../kernels/gpujs/backend';
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
      `Set ONESTEP_BACKEND or call setBackend() with one of them.`,
  );
}

/**
 * 'auto': WebGPU when Dawn finds a hardware adapter, else the CPU backend (on a machine without a
 * GPU, WebGPU runs on Mesa's software rasteriser, far slower than the WebAssembly CPU kernels).
 * Says which it picked, once, on stderr.
 */
function pickAuto(): Backend {
  let choice: Backend = cpuBackend as Backend;
  let why: string;
  try {
    const gpu = gpujsBackend('webgpu');
    if (gpu.adapter && !gpu.adapter.software) {
      choice = gpu as Backend;
      why = `WebGPU adapter ${gpu.adapter.description}`;
    } else {
      why = `the only WebGPU adapter is a software one (${gpu.adapter?.description}); the CPU kernels are faster`;
    }
  } catch (e) {
    why = `no WebGPU: ${(e as Error).message.split('. ')[0]}`;
  }
  process.stderr.write(`onestep: backend auto -> ${choice.name} (${why})\n`);
  return choice;
}

/** Picks the backend for new tensors; the environment variable ONESTEP_BACKEND sets the default. */
export function setBackend(name: BackendName | 'auto'): Backend {
  current = resolve(name);
  return current;
}

export function getBackend(): Backend {
  if (!current) current = resolve(process.env.ONESTEP_BACKEND || 'cpu');
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
