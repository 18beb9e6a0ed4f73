import type { GpujsBackend } from '../../kernels/gpujs/backend';
import { convCases } from './gpujs/conv';
import { copyCases } from './gpujs/copy';
import { elementwiseCases } from './gpujs/elementwise';
import type { ParityCase } from './gpujs/helpers';
import { largeBufferCases } from './gpujs/large-buffers';
import { matmulCases } from './gpujs/matmul';
import { normCases } from './gpujs/norm';
import { optimCases } from './gpujs/optim';
import { reduceCases } from './gpujs/reduce';
import { resampleCases } from './gpujs/resample';
import { softmaxCases } from './gpujs/softmax';

// Every primitive kernel of a gpu.js backend against kernels/cpu's reference, on random inputs
// drawn by fast-check: odd sizes, broadcasting, strided views, and buffers over 2^24 elements
// (where f32 index arithmetic would go wrong). The cases of each kernel family are in
// test/parity/gpujs/<family>.ts (their comparison and tolerances in gpujs/helpers.ts); this is
// their one list, which vitest (gpujs.test.ts) and the GPU machine's runner (bench/device.ts) run.
// The elementwise cases come first: the first of them starts the backend.

export function gpujsParityCases(backend: GpujsBackend): ParityCase[] {
  return [
    ...elementwiseCases(backend),
    ...optimCases(backend),
    ...copyCases(backend),
    ...reduceCases(backend),
    ...softmaxCases(backend),
    ...matmulCases(backend),
    ...convCases(backend),
    ...normCases(backend),
    ...resampleCases(backend),
    ...largeBufferCases(backend),
  ];
}
