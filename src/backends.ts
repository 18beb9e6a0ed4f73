// Backend selection: the one module that names concrete kernels.
import { cpuBackend, cpuReferenceBackend } from '../kernels/cpu/index';
import type { Backend, DType } from './backend/backend';

export type BackendName = 'cpu' | 'cpu-reference';

const BACKENDS: Record<BackendName, () => Backend> = {
  cpu: () => cpuBackend as Backend,
  'cpu-reference': () => cpuReferenceBackend as Backend,
};

let current: Backend | null = null;

function resolve(name: string): Backend {
  const make = BACKENDS[name as BackendName];
  if (!make) {
    throw new Error(
      `Unknown backend '${name}'. Available here: ${Object.keys(BACKENDS).join(', ')}. ` +
        `Set ONESTEP_BACKEND or call setBackend() with one of them.`,
    );
  }
  return make();
}

/** Picks the backend for new tensors; the environment variable ONESTEP_BACKEND sets the default. */
export function setBackend(name: BackendName): Backend {
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
