import { cpuBackend, cpuReferenceBackend } from '../kernels/cpu/index';
import { CONV_METHODS } from '../kernels/cpu/wasm/conv-paths';
import type { Backend, Conv2dGeometry } from '../src/backend/backend';
import type { BenchCase } from './harness';
import { ctStepCase, sampleCase } from './step-cases';

// The hot kernels through the Backend interface (no autograd, inputs prepared outside the timing).

function random(be: Backend, n: number, seed: number): unknown {
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return be.fromArray(data, 'float32');
}

export function gemmCase(be: Backend, m: number, k: number, n: number, name = `gemm-${m}x${k}x${n}`): BenchCase {
  return {
    name,
    backend: be.name,
    flops: 2 * m * k * n,
    setup: () => {
      const a = random(be, m * k, 1), w = random(be, k * n, 2), out = be.alloc(m * n, 'float32');
      const g = { batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
      return () => be.matmul(a, w, out, g);
    },
  };
}

export type ConvKind = 'fwd' | 'dgrad' | 'wgrad';

export function convName(kind: ConvKind, c: number, size: number, n: number): string {
  return `conv2d-${kind}-c${c}-${size}x${size}-b${n}`;
}

export function convFlops(c: number, size: number, n: number): number {
  return 2 * n * c * c * 9 * size * size;
}

export function convCase(be: Backend, kind: ConvKind, n: number, c: number, size: number): BenchCase {
  const g: Conv2dGeometry = { n, cIn: c, h: size, w: size, cOut: c, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: size, outW: size };
  return {
    name: convName(kind, c, size, n),
    backend: be.name,
    flops: convFlops(c, size, n),
    setup: () => {
      const x = random(be, n * c * size * size, 3), w = random(be, c * c * 9, 4), y = random(be, n * c * size * size, 5);
      const outX = be.alloc(n * c * size * size, 'float32'), outW = be.alloc(c * c * 9, 'float32');
      if (kind === 'fwd') return () => be.conv2d(x, w, null, outX, g);
      if (kind === 'dgrad') return () => be.conv2dGradInput(y, w, outX, g);
      return () => be.conv2dGradWeight(x, y, outW, g);
    },
  };
}

/**
 * Each wasm path that computes the 3x3 convolution c -> c at size x size, batch n
 * (kernels/cpu/wasm/conv-paths.ts), on the cpu backend's resident tensors: rows named like
 * convCase's plus the path, beside which the backend's own row shows the one it chose.
 */
export function convPathCases(n: number, c: number, size: number): BenchCase[] {
  const g: Conv2dGeometry = { n, cIn: c, h: size, w: size, cOut: c, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: size, outW: size };
  const be = cpuBackend as Backend;
  const lists = [['fwd', CONV_METHODS.conv2d], ['wgrad', CONV_METHODS.conv2dGradWeight], ['dgrad', CONV_METHODS.conv2dGradInput]] as const;
  return lists.flatMap(([kind, { paths, sizes }]) => paths.filter((p) => p.supports(g)).map((path) => ({
    name: `${convName(kind, c, size, n)}-${path.name}`,
    backend: be.name,
    flops: convFlops(c, size, n),
    setup: () => {
      const [na, nb, nOut] = sizes(g);
      const [a, b, out] = [random(be, na, 3), random(be, nb, 4), be.alloc(nOut, 'float32')] as Float32Array[];
      return () => path.run(a!, b!, out!, g);
    },
  })));
}

export function groupNormCase(be: Backend, n: number, c: number, size: number): BenchCase {
  const hw = size * size;
  return {
    name: `groupnorm-fwd-c${c}-${size}x${size}-b${n}`,
    backend: be.name,
    bytes: 4 * 2 * n * c * hw,
    setup: () => {
      const x = random(be, n * c * hw, 8), gamma = random(be, c, 9), beta = random(be, c, 10);
      const out = be.alloc(n * c * hw, 'float32'), stats = be.alloc(2 * n * 32, 'float32');
      return () => be.groupNorm(x, gamma, beta, out, stats, { n, c, hw, groups: 32, eps: 1e-5 });
    },
  };
}

export function elementwiseCases(be: Backend, n: number): BenchCase[] {
  const view = (buffer: unknown) => ({ buffer, offset: 0, strides: [1] });
  return [
    {
      name: `silu-${n}`, backend: be.name, bytes: 8 * n,
      setup: () => { const x = random(be, n, 6), out = be.alloc(n, 'float32'); return () => be.unary('silu', x, out); },
    },
    {
      name: `add-${n}`, backend: be.name, bytes: 12 * n,
      setup: () => {
        const x = random(be, n, 6), y = random(be, n, 7), out = be.alloc(n, 'float32');
        return () => be.binary('add', view(x), view(y), [n], out);
      },
    },
  ];
}

/** The rows `--quick` runs: the figures the fast CPU path is judged by. */
export function engineQuickCases(): BenchCase[] {
  const be = cpuBackend as Backend;
  return [
    gemmCase(be, 1024, 1024, 1024, 'gemm-1024'),
    ...(['fwd', 'dgrad', 'wgrad'] as const).map((k) => convCase(be, k, 32, 64, 32)),
    ctStepCase(),
    sampleCase(),
  ];
}

/** Waits for a backend's queued kernels (gpu.js backends run asynchronously on a device worker). */
function timed(be: Backend, run: () => void): () => void {
  const sync = (be as { sync?: () => void }).sync;
  return sync ? () => { run(); sync(); } : run;
}

/**
 * The hot kernels on one gpu.js backend: on webgpu the whole list at the U-Net's shapes; on the
 * CPU-side gpu.js modes (webasm, gpujs-cpu), which run ~100x slower, the same kernels at batch 8
 * and the GEMM at 256, so the suite finishes in minutes.
 */
export function gpujsCases(be: Backend, full: boolean): BenchCase[] {
  const slow = be.name !== 'webgpu';
  const batch = slow ? 8 : 32;
  const cases: BenchCase[] = [slow ? gemmCase(be, 256, 256, 256) : gemmCase(be, 1024, 1024, 1024, 'gemm-1024')];
  const shapes: (readonly [number, number])[] = full ? [[64, 32], [32, 32], [64, 16], [32, 16]] : [[64, 32]];
  for (const [c, size] of shapes) for (const kind of ['fwd', 'dgrad', 'wgrad'] as const) cases.push(convCase(be, kind, batch, c, size));
  if (full) {
    if (!slow) cases.push(gemmCase(be, 64, 576, 1024), gemmCase(be, 32, 288, 1024), gemmCase(be, 64, 576, 256));
    cases.push(groupNormCase(be, batch, 64, 32), ...elementwiseCases(be, batch * 64 * 32 * 32));
  }
  return cases.map((c) => ({ ...c, setup: async () => timed(be, await c.setup()) }));
}

export function engineFullCases(): BenchCase[] {
  const fast = cpuBackend as Backend, ref = cpuReferenceBackend as Backend;
  const cases: BenchCase[] = [...engineQuickCases(), ctStepCase('cpu', 64), sampleCase('cpu', 64)];
  // the MNIST U-Net's conv shapes (D = 32): 32 and 64 channels at 32x32 and 16x16, batch 32
  for (const [c, size] of [[32, 32], [64, 16], [32, 16]] as const) {
    for (const kind of ['fwd', 'dgrad', 'wgrad'] as const) cases.push(convCase(fast, kind, 32, c, size));
  }
  // every path that computes the 64 -> 64 and 32 -> 32 ones, beside the choice above
  cases.push(...convPathCases(32, 64, 32), ...convPathCases(32, 32, 16));
  // the same GEMMs im2col makes of them: [cOut x 9 cIn] @ [9 cIn x H W] per image
  cases.push(gemmCase(fast, 64, 576, 1024), gemmCase(fast, 32, 288, 1024), gemmCase(fast, 64, 576, 256));
  cases.push(groupNormCase(fast, 32, 64, 32), ...elementwiseCases(fast, 32 * 64 * 32 * 32));
  // the reference loops, on sizes they finish in well under a second
  cases.push(gemmCase(ref, 256, 256, 256), convCase(ref, 'fwd', 8, 32, 16), convCase(ref, 'dgrad', 8, 32, 16), convCase(ref, 'wgrad', 8, 32, 16));
  cases.push(convCase(fast, 'fwd', 8, 32, 16), convCase(fast, 'dgrad', 8, 32, 16), convCase(fast, 'wgrad', 8, 32, 16), gemmCase(fast, 256, 256, 256));
  return cases;
}
