import { describe, expect, it } from 'vitest';
import type { GpujsMode } from '../../kernels/gpujs/host';
import { gpujsBackend } from '../../src/backends';
import { gpujsParityCases } from './gpujs-cases';

// The parity cases (gpujs-cases.ts) on every gpu.js mode. Each mode must start: a missing WebGPU
// adapter (no Mesa EGL/GLES on a GPU-less machine) fails here, loudly, rather than skipping. Each
// suite ends by asserting the gpu.js mode that really ran, since gpu.js falls back to its CPU mode
// with only a console warning.

const MODES: { mode: GpujsMode; gpujs: string }[] = [
  { mode: 'webgpu', gpujs: 'webgpu' },
  { mode: 'webasm', gpujs: 'webasm' },
  { mode: 'gpujs-cpu', gpujs: 'cpu' },
];

for (const { mode, gpujs } of MODES) {
  describe(`gpu.js '${mode}' kernels match kernels/cpu`, () => {
    const backend = gpujsBackend(mode);
    for (const c of gpujsParityCases(backend)) it(c.name, c.run);
    it(`ran every kernel in gpu.js mode '${gpujs}' (no silent fallback)`, () => {
      expect(backend.stats().modesRan).toEqual([gpujs]);
    });
  });
}
