import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conv2dGradInput, conv2dGradWeight, conv2dNoBias } from '../../kernels/cpu/conv';
import { unary, unaryGrad } from '../../kernels/cpu/elementwise';
import { matmul } from '../../kernels/cpu/matmul';
import { siluF32, siluGradF32 } from '../../kernels/cpu/wasm/activation';
import { conv2dF32, conv2dGradInputF32, conv2dGradWeightF32, conv2dGradWeightIm2colF32, conv2dIm2colF32, gradInputAsConv } from '../../kernels/cpu/wasm/conv';
import { conv2dGradWeightWinogradF32, winogradGradWeightApplies } from '../../kernels/cpu/wasm/winograd-grad';
import { conv2dDirectF32, conv2dGradWeightDirectF32, directConvApplies, directConvGradWeightApplies } from '../../kernels/cpu/wasm/direct-conv';
import { conv2dWinogradF32, winogradApplies, winogradTermsApply } from '../../kernels/cpu/wasm/winograd';
import { gemmF32 } from '../../kernels/cpu/wasm/gemm';
import { getRuntime } from '../../kernels/cpu/wasm/runtime';
import { groupNormBackwardF32, groupNormF32, groupNormSiluGradF32 } from '../../kernels/cpu/wasm/norm';
import { binaryF32 } from '../../kernels/cpu/wasm/binary';
import { keptBlock, sumKeptBlockF32 } from '../../kernels/cpu/wasm/reduce';
import { reduce } from '../../kernels/cpu/reduce';
import { adamwInto, axpby } from '../../kernels/cpu/optim';
import { adamwF32, axpbyF32 } from '../../kernels/cpu/wasm/optim';
import { upsampleNearest2x, upsampleNearest2xBackward } from '../../kernels/cpu/resample';
import { upsampleApplies, upsampleNearest2xBackwardF32, upsampleNearest2xF32 } from '../../kernels/cpu/wasm/resample';
import { binary } from '../../kernels/cpu/elementwise';
import { contiguousStrides } from '../../src/backend/strides';
import { broadcastStrides } from '../../src/tensor/shape';
import { groupNormBackwardInto, groupNormInto } from '../../kernels/cpu/norm';
import type { Conv2dGeometry, MatmulGeometry } from '../../src/backend/backend';
import { Generator } from '../../src/index';
import { cpuBackend, cpuReferenceBackend } from '../../kernels/cpu/index';

// The WebAssembly SIMD kernels against the reference loops. The reference sums in float64, the
// fast path in float32 (K-blocked), so each output may differ by a small multiple of float32
// epsilon times the sum of |terms| it adds up: compare against the same kernel run on |inputs|.

const random = (n: number, seed: number): Float32Array => {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.uniform() * 2 - 1);
};
const abs = (x: Float32Array): Float32Array => x.map(Math.abs);

/**
 * x where a kernel finds it: an ordinary array (copied into the wasm heap and back around the call),
 * or resident in the heap as the cpu backend's tensors are (used in place). Each property draws both.
 */
const place = (x: Float32Array, resident: boolean): Float32Array => {
  if (!resident) return x;
  const r = getRuntime().heap.tensor(x.length);
  if (!r) throw new Error('the wasm heap holds no tensors here (its memory is not shared)');
  r.set(x);
  return r;
};

type TwoInputKernel = (a: Float32Array, b: Float32Array, out: Float32Array) => void;

/**
 * A fast two-input kernel (inputs placed resident or copied, its output NaN-filled first) against
 * the reference run on the inputs and, for the tolerance, on their magnitudes; returns the fast output.
 */
function expectKernelClose(size: number, a: Float32Array, b: Float32Array, resident: boolean, fast: TwoInputKernel, reference: TwoInputKernel): Float32Array {
  const [ref, mag] = [0, 1].map(() => new Float32Array(size)) as [Float32Array, Float32Array];
  const out = place(new Float32Array(size).fill(Number.NaN), resident);
  fast(place(a, resident), place(b, resident), out);
  reference(a, b, ref);
  reference(abs(a), abs(b), mag);
  expectClose(out, ref, mag);
  return out;
}

function expectClose(actual: Float32Array, expected: Float32Array, magnitude: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    if (!(err <= 1e-5 * magnitude[i]! + 1e-7)) {
      throw new Error(`element ${i}: fast ${actual[i]}, reference ${expected[i]}, |diff| ${err}, sum of |terms| ${magnitude[i]}`);
    }
  }
}

describe('WebAssembly GEMM matches the reference', () => {
  it('over ragged sizes, transposes, batches and broadcast batch operands', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          m: fc.integer({ min: 1, max: 70 }),
          k: fc.integer({ min: 1, max: 600 }),
          n: fc.integer({ min: 1, max: 70 }),
          transA: fc.boolean(),
          transB: fc.boolean(),
          broadcastA: fc.boolean(),
          broadcastB: fc.boolean(),
          resident: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          const g: MatmulGeometry = {
            batch: p.batch, m: p.m, k: p.k, n: p.n, transA: p.transA, transB: p.transB,
            aBatchStride: p.broadcastA ? 0 : p.m * p.k, bBatchStride: p.broadcastB ? 0 : p.k * p.n,
          };
          const a = random((p.broadcastA ? 1 : p.batch) * p.m * p.k, p.seed);
          const b = random((p.broadcastB ? 1 : p.batch) * p.k * p.n, p.seed + 1);
          const fast = place(new Float32Array(p.batch * p.m * p.n).fill(Number.NaN), p.resident), ref = new Float32Array(fast.length), mag = new Float32Array(fast.length);
          gemmF32(place(a, p.resident), place(b, p.resident), fast, g);
          matmul(a, b, ref, g);
          matmul(abs(a), abs(b), mag, g);
          expectClose(fast, ref, mag);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('at a size that splits across threads along M and along N', () => {
    for (const [m, k, n] of [[131, 300, 37], [9, 517, 203]] as const) {
      const g: MatmulGeometry = { batch: 1, m, k, n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
      const a = random(m * k, m), b = random(k * n, n);
      const fast = new Float32Array(m * n), ref = new Float32Array(m * n), mag = new Float32Array(m * n);
      gemmF32(a, b, fast, g);
      matmul(a, b, ref, g);
      matmul(abs(a), abs(b), mag, g);
      expectClose(fast, ref, mag);
    }
  });
});

const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }), cIn: fc.integer({ min: 1, max: 9 }), cOut: fc.integer({ min: 1, max: 11 }),
    h: fc.integer({ min: 1, max: 12 }), w: fc.integer({ min: 1, max: 12 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
    strideH: fc.integer({ min: 1, max: 2 }), strideW: fc.integer({ min: 1, max: 2 }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((p) => ({ ...p, outH: Math.floor((p.h + 2 * p.padH - p.kh) / p.strideH) + 1, outW: Math.floor((p.w + 2 * p.padW - p.kw) / p.strideW) + 1 }))
  .filter((p) => p.outH >= 1 && p.outW >= 1);

describe('WebAssembly conv2d matches the reference', () => {
  it('forward, weight gradient and input gradient (padding < kernel, any stride) over random geometry', () => {
    fc.assert(
      fc.property(convArb, fc.boolean(), (p, resident) => {
        const g: Conv2dGeometry = p;
        const x = random(g.n * g.cIn * g.h * g.w, p.seed), w = random(g.cOut * g.cIn * g.kh * g.kw, p.seed + 1);
        const gy = random(g.n * g.cOut * g.outH * g.outW, p.seed + 2);
        expectKernelClose(gy.length, x, w, resident, (a, b, o) => conv2dF32(a, b, o, g), (a, b, o) => conv2dNoBias(a, b, o, g));
        expectKernelClose(w.length, x, gy, resident, (a, b, o) => conv2dGradWeightF32(a, b, o, g), (a, b, o) => conv2dGradWeight(a, b, o, g));
        if (gradInputAsConv(g)) {
          expectKernelClose(x.length, gy, w, resident, (a, b, o) => conv2dGradInputF32(a, b, o, g), (a, b, o) => conv2dGradInput(a, b, o, g));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('at the U-Net shape 64 -> 64 channels, 16x16, 3x3, batch 2', () => {
    const g: Conv2dGeometry = { n: 2, cIn: 64, h: 16, w: 16, cOut: 64, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 16, outW: 16 };
    const x = random(2 * 64 * 256, 1), w = random(64 * 64 * 9, 2), gy = random(2 * 64 * 256, 3);
    const run = (f: (o: Float32Array) => void, n: number) => { const o = new Float32Array(n); f(o); return o; };
    expectClose(run((o) => conv2dF32(x, w, o, g), gy.length), run((o) => conv2dNoBias(x, w, o, g), gy.length), run((o) => conv2dNoBias(abs(x), abs(w), o, g), gy.length));
    expectClose(run((o) => conv2dGradInputF32(gy, w, o, g), x.length), run((o) => conv2dGradInput(gy, w, o, g), x.length), run((o) => conv2dGradInput(abs(gy), abs(w), o, g), x.length));
    expectClose(run((o) => conv2dGradWeightF32(x, gy, o, g), w.length), run((o) => conv2dGradWeight(x, gy, o, g), w.length), run((o) => conv2dGradWeight(abs(x), abs(gy), o, g), w.length));
  });
});

/** A 3x3 stride-1 convolution's geometry from its sizes and paddings (Winograd's cases). */
const stride1Conv3x3 = <P extends { h: number; w: number; padH: number; padW: number }>(p: P) =>
  ({ ...p, kh: 3, kw: 3, strideH: 1, strideW: 1, outH: p.h + 2 * p.padH - 2, outW: p.w + 2 * p.padW - 2 });

/** Ragged 3x3 stride-1 geometries: batch and channels drawn by the caller, sides 1 to `side`, paddings 0-2, a seed. */
const stride1Conv3x3Cases = (draw: { n: fc.Arbitrary<number>; cIn: fc.Arbitrary<number>; cOut: fc.Arbitrary<number>; side: number }) => fc
  .record({
    n: draw.n, cIn: draw.cIn, cOut: draw.cOut,
    h: fc.integer({ min: 1, max: draw.side }), w: fc.integer({ min: 1, max: draw.side }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map(stride1Conv3x3)
  .filter((p) => p.outH >= 1 && p.outW >= 1);

describe('Winograd F(2x2, 3x3) conv2d matches the reference', () => {
  // Ragged sizes on purpose: outputs that are not whole 2x2 tiles or whole groups of 4 tiles,
  // channels past one K block (256), paddings 0-2.
  const winogradArb = stride1Conv3x3Cases({
    n: fc.integer({ min: 1, max: 3 }), cIn: fc.oneof(fc.integer({ min: 8, max: 40 }), fc.constant(261)), cOut: fc.integer({ min: 1, max: 13 }), side: 19,
  });
  it('forward over ragged geometry, threads splitting the batch', () => {
    fc.assert(
      fc.property(winogradArb, fc.boolean(), (p, resident) => {
        const g: Conv2dGeometry = p;
        expect(winogradApplies(g)).toBe(true);
        const x = random(g.n * g.cIn * g.h * g.w, p.seed), w = random(g.cOut * g.cIn * 9, p.seed + 1);
        const [ref, mag] = [0, 1].map(() => new Float32Array(g.n * g.cOut * g.outH * g.outW)) as [Float32Array, Float32Array];
        const fast = place(new Float32Array(ref.length).fill(Number.NaN), resident);
        conv2dWinogradF32(place(x, resident), place(w, resident), fast, g);
        conv2dNoBias(x, w, ref, g);
        conv2dNoBias(abs(x), abs(w), mag, g);
        expectClose(fast, ref, mag);
      }),
      { numRuns: 60 },
    );
  });

  it('is what conv2dF32 runs for the U-Net convolutions, and the im2col path agrees with it', () => {
    const g: Conv2dGeometry = { n: 3, cIn: 32, h: 8, w: 8, cOut: 64, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 8, outW: 8 };
    expect(winogradApplies(g)).toBe(true);
    expect(winogradApplies({ ...g, cIn: 1 })).toBe(false);
    expect(winogradApplies({ ...g, strideH: 2, outH: 4 })).toBe(false);
    const x = random(3 * 32 * 64, 5), w = random(64 * 32 * 9, 6);
    const [viaDispatch, viaWinograd, viaIm2col] = [0, 1, 2].map(() => new Float32Array(3 * 64 * 64)) as [Float32Array, Float32Array, Float32Array];
    conv2dF32(x, w, viaDispatch, g);
    conv2dWinogradF32(x, w, viaWinograd, g);
    conv2dIm2colF32(x, w, viaIm2col, g);
    expect(viaDispatch).toEqual(viaWinograd);
    const mag = new Float32Array(viaIm2col.length);
    conv2dNoBias(abs(x), abs(w), mag, g);
    expectClose(viaWinograd, viaIm2col, mag);
  });
});

describe('direct 3x3 conv2d for few channels matches the reference', () => {
  // Ragged widths (not whole f32x4 or 16-column blocks), one to four channels on one side and up
  // to 20, or 65, on the other, batches split unevenly over the threads; padding 1 (what the kernels compute).
  const arb = fc
    .record({
      n: fc.integer({ min: 1, max: 5 }), many: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant(65)), few: fc.integer({ min: 1, max: 4 }),
      fewIn: fc.boolean(), h: fc.integer({ min: 1, max: 21 }), w: fc.integer({ min: 1, max: 37 }), seed: fc.integer({ min: 0, max: 1e6 }),
    })
    .map((p) => stride1Conv3x3({ n: p.n, cIn: p.fewIn ? p.few : p.many, cOut: p.fewIn ? p.many : p.few, h: p.h, w: p.w, padH: 1, padW: 1, seed: p.seed }));

  it('forward and weight gradient over ragged geometry (the forward also with few input channels, which dispatch leaves to the other paths)', () => {
    fc.assert(
      fc.property(arb, fc.boolean(), (p, resident) => {
        const g: Conv2dGeometry = p;
        expect(directConvGradWeightApplies(g)).toBe(true);
        const x = random(g.n * g.cIn * g.h * g.w, p.seed), w = random(g.cOut * g.cIn * 9, p.seed + 1), gy = random(g.n * g.cOut * g.h * g.w, p.seed + 2);
        const fast = expectKernelClose(gy.length, x, w, resident, (a, b, o) => conv2dDirectF32(a, b, o, g), (a, b, o) => conv2dNoBias(a, b, o, g));
        if (directConvApplies(g)) {
          const viaDispatch = new Float32Array(gy.length);
          conv2dF32(x, w, viaDispatch, g);
          expect(viaDispatch).toEqual(fast);
        }
        const fw = expectKernelClose(w.length, x, gy, resident, (a, b, o) => conv2dGradWeightDirectF32(a, b, o, g), (a, b, o) => conv2dGradWeight(a, b, o, g));
        const gwDispatch = new Float32Array(w.length);
        conv2dGradWeightF32(x, gy, gwDispatch, g);
        expect(gwDispatch).toEqual(fw);
      }),
      { numRuns: 50 },
    );
  });

  it('takes the SimpleUNet\'s last convolution and the weight gradient of a 1 -> 32 one, not the wide ones', () => {
    const last: Conv2dGeometry = { n: 3, cIn: 65, h: 32, w: 32, cOut: 1, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 32, outW: 32 };
    expect([directConvApplies(last), directConvGradWeightApplies(last)]).toEqual([true, true]);
    expect([directConvApplies({ ...last, cIn: 1, cOut: 32 }), directConvGradWeightApplies({ ...last, cIn: 1, cOut: 32 })]).toEqual([false, true]);
    expect([directConvApplies({ ...last, cOut: 3 }), directConvGradWeightApplies({ ...last, cOut: 3 })]).toEqual([false, true]);
    expect(directConvGradWeightApplies({ ...last, cOut: 5 })).toBe(false);
    expect(directConvApplies({ ...last, padH: 0, padW: 0, outH: 30, outW: 30 })).toBe(false);
    expect(directConvApplies({ ...last, strideH: 2, outH: 16 })).toBe(false);
    expect(() => conv2dDirectF32(new Float32Array(0), new Float32Array(0), new Float32Array(0), { ...last, kh: 5, kw: 5 })).toThrow(/3x3 kernel/);
    const gy = random(3 * 32 * 32, 9), w = random(65 * 9, 10);
    const [fx, rx, mx] = [0, 1, 2].map(() => new Float32Array(3 * 65 * 32 * 32)) as [Float32Array, Float32Array, Float32Array];
    conv2dGradInputF32(gy, w, fx, last); // a forward conv with 1 input channel: im2col
    conv2dGradInput(gy, w, rx, last);
    conv2dGradInput(abs(gy), abs(w), mx, last);
    expectClose(fx, rx, mx);
  });
});

/** The Winograd weight gradient of random x and dy against the reference loops (NaN-filled output). */
function expectWinogradGradWeightClose(g: Conv2dGeometry, seed: number, resident = false): void {
  const x = random(g.n * g.cIn * g.h * g.w, seed), gy = random(g.n * g.cOut * g.outH * g.outW, seed + 1);
  expectKernelClose(g.cOut * g.cIn * 9, x, gy, resident, (a, b, o) => conv2dGradWeightWinogradF32(a, b, o, g), (a, b, o) => conv2dGradWeight(a, b, o, g));
}

describe('Winograd F(3x3, 2x2) weight gradient matches the reference', () => {
  // Ragged sizes: outputs that are not whole 2x2 tiles or groups of 4 tiles, tiles past one K block
  // of the GEMM depth (256) in one image and across grouped small images, channels that are not
  // whole panels (4 rows, 8 columns), one output channel, paddings 0-2, batches split unevenly.
  const arb = stride1Conv3x3Cases({
    n: fc.integer({ min: 1, max: 5 }), cIn: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant(67)), cOut: fc.oneof(fc.integer({ min: 1, max: 13 }), fc.constant(1)), side: 40,
  });

  it('over ragged geometry, threads splitting the batch', () => {
    fc.assert(
      fc.property(arb, fc.boolean(), (p, resident) => expectWinogradGradWeightClose(p, p.seed, resident)),
      { numRuns: 40 },
    );
  });

  it('groups small images into one GEMM depth over several K blocks, the last group smaller, accumulating', () => {
    // 22x48 outputs: 11 x 24 = 264 tiles, so two images per group (depth 528: three K blocks, the
    // last 16 deep); 2 threads + 1 images leave a thread three: a group of two, then one accumulating
    const threads = getRuntime().threads;
    expectWinogradGradWeightClose(stride1Conv3x3({ n: 2 * threads + 1, cIn: 9, h: 22, w: 48, cOut: 5, padH: 1, padW: 1 }), 11);
  });

  it('is what conv2dGradWeightF32 runs for the large U-Net convolutions, and the im2col path agrees with it', () => {
    const g: Conv2dGeometry = { n: 3, cIn: 16, h: 16, w: 16, cOut: 8, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 16, outW: 16 };
    expect(winogradGradWeightApplies(g)).toBe(true);
    expect(winogradGradWeightApplies({ ...g, h: 8, w: 8, outH: 8, outW: 8 })).toBe(false); // 3 x 16 tiles: too few
    expect(winogradGradWeightApplies({ ...g, n: 32, h: 8, w: 8, outH: 8, outW: 8 })).toBe(true); // 32 x 16 = 512 tiles
    expect(winogradGradWeightApplies({ ...g, n: 32, h: 6, w: 6, outH: 6, outW: 6 })).toBe(false);
    expect(winogradGradWeightApplies({ ...g, cIn: 4 })).toBe(false);
    expect(winogradGradWeightApplies({ ...g, h: 256, w: 1, outH: 256, outW: 1, padW: 1 })).toBe(false);
    expect(winogradGradWeightApplies({ ...g, strideH: 2, outH: 8 })).toBe(false);
    expect(() => conv2dGradWeightWinogradF32(new Float32Array(0), new Float32Array(0), new Float32Array(0), { ...g, kh: 5, kw: 5 })).toThrow(/3x3 kernel/);
    const x = random(3 * 16 * 256, 7), gy = random(3 * 8 * 256, 8);
    const [viaDispatch, viaWinograd, viaIm2col, mag] = [0, 1, 2, 3].map(() => new Float32Array(8 * 16 * 9)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    conv2dGradWeightF32(x, gy, viaDispatch, g);
    conv2dGradWeightWinogradF32(x, gy, viaWinograd, g);
    conv2dGradWeightIm2colF32(x, gy, viaIm2col, g);
    expect(viaDispatch).toEqual(viaWinograd);
    conv2dGradWeight(abs(x), abs(gy), mag, g);
    expectClose(viaWinograd, viaIm2col, mag);
  });
});

/** Group norm cases: geometry up to these sizes (hw up to 300: tails past whole vectors and chunks), values offset. */
const groupNormCases = (most: { groups: number; cpg: number; offset: number }) => fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: most.groups }), cpg: fc.integer({ min: 1, max: most.cpg }),
  hw: fc.integer({ min: 1, max: 300 }), offset: fc.double({ min: -most.offset, max: most.offset, noNaN: true }), seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('WebAssembly group norm matches the reference', () => {
  // The reference sums in float64; the wasm kernel in float32 chunks of 64 added in float64, so
  // mean and rstd agree to a few float32 ulps of the values' scale, and each output to that error
  // carried through (x - mean) rstd gamma + beta.
  it('over random geometry (tails that are not whole vectors or chunks), offset values', () => {
    fc.assert(
      fc.property(
        groupNormCases({ groups: 5, cpg: 5, offset: 10 }),
        fc.boolean(),
        fc.boolean(),
        (p, resident, silu) => {
          const c = p.groups * p.cpg, size = p.n * c * p.hw, items = p.n * p.groups;
          const g = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5, silu };
          const x = random(size, p.seed).map((v) => v + p.offset), gamma = random(c, p.seed + 1), beta = random(c, p.seed + 2);
          const [out, ref] = [place(new Float32Array(size).fill(Number.NaN), resident), new Float32Array(size)];
          const [mean, rstd, refMean, refRstd] = [0, 1, 2, 3].map(() => new Float32Array(items)) as [Float32Array, Float32Array, Float32Array, Float32Array];
          groupNormF32(place(x, resident), place(gamma, resident), place(beta, resident), out, mean, rstd, g);
          groupNormInto(x, gamma, beta, ref, refMean, refRstd, { ...g, silu: false });
          // with SiLU: the wasm kernel's own silu of its own normalised values, bit for bit
          if (silu) {
            const plain = new Float32Array(size), again = new Float32Array(size);
            groupNormF32(x, gamma, beta, plain, new Float32Array(items), new Float32Array(items), { ...g, silu: false });
            siluF32(plain, again);
            expect(out).toEqual(again);
            out.set(plain);
          }
          const scale = Math.max(...Array.from(x, Math.abs));
          for (let i = 0; i < items; i++) {
            if (!(Math.abs(mean[i]! - refMean[i]!) <= 1e-6 * scale)) throw new Error(`mean ${i}: ${mean[i]} vs ${refMean[i]}`);
            if (!(Math.abs(rstd[i]! - refRstd[i]!) <= 1e-5 * refRstd[i]!)) throw new Error(`rstd ${i}: ${rstd[i]} vs ${refRstd[i]}`);
          }
          for (let i = 0; i < size; i++) {
            const item = Math.floor(i / (p.cpg * p.hw)), ch = Math.floor(i / p.hw) % c;
            const tol = 1e-5 * ((scale + Math.abs(refMean[item]!)) * refRstd[item]! * Math.abs(gamma[ch]!) + Math.abs(beta[ch]!)) + 1e-7;
            if (!(Math.abs(out[i]! - ref[i]!) <= tol)) throw new Error(`element ${i}: wasm ${out[i]}, reference ${ref[i]}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('WebAssembly group norm backward matches the reference', () => {
  // The reference sums in float64. The kernel sums dy and dy xhat per channel in float32 lanes over
  // chunks of 64 values (16 adds a lane), each chunk added in float64: error <= 16 float32 epsilon of
  // the sum of |terms|. dx = rstd (dy gamma - mean(dy gamma) - xhat mean(dy gamma xhat)) in float32
  // carries those errors and a few roundings of each term.
  it('over random geometry (tails that are not whole vectors or chunks, groups of one channel), offset values', () => {
    const eps32 = 2 ** -24;
    fc.assert(
      fc.property(
        groupNormCases({ groups: 4, cpg: 4, offset: 5 }),
        fc.boolean(),
        (p, resident) => {
          const c = p.groups * p.cpg, size = p.n * c * p.hw, items = p.n * p.groups, count = p.cpg * p.hw;
          const g = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5 };
          const x = random(size, p.seed).map((v) => v + p.offset), gamma = random(c, p.seed + 1), gy = random(size, p.seed + 2);
          const out = new Float32Array(size), mean = new Float32Array(items), rstd = new Float32Array(items);
          groupNormInto(x, gamma, new Float32Array(c), out, mean, rstd, g);
          const [gx, refGx] = [place(new Float32Array(size).fill(Number.NaN), resident), new Float32Array(size)];
          const [gGamma, gBeta, refGamma, refBeta] = [0, 1, 2, 3].map(() => new Float32Array(c)) as Float32Array[];
          const [r, s] = [(v: Float32Array) => place(v, resident), place(mean.slice(), resident)];
          groupNormBackwardF32(r(gy), r(x), r(gamma), s, r(rstd), gx, gGamma!, gBeta!, g);
          groupNormBackwardInto(gy, x, gamma, mean, rstd, refGx, refGamma!, refBeta!, g);
          const xhat = (i: number) => { const item = Math.floor(i / count); return (x[i]! - mean[item]!) * rstd[item]!; };
          // sums of |terms| per channel (over images and positions) and per group (over its channels)
          const absDy = new Float64Array(c), absDyX = new Float64Array(c), groupD = new Float64Array(items), groupDX = new Float64Array(items);
          for (let i = 0; i < size; i++) {
            const ch = Math.floor(i / p.hw) % c, item = Math.floor(i / count);
            absDy[ch] += Math.abs(gy[i]!);
            absDyX[ch] += Math.abs(gy[i]! * xhat(i));
            groupD[item] += Math.abs(gy[i]! * gamma[ch]!) / count;
            groupDX[item] += Math.abs(gy[i]! * gamma[ch]! * xhat(i)) / count;
          }
          for (let ch = 0; ch < c; ch++) {
            if (!(Math.abs(gBeta![ch]! - refBeta![ch]!) <= 20 * eps32 * absDy[ch]! + 1e-7)) throw new Error(`dbeta ${ch}: ${gBeta![ch]} vs ${refBeta![ch]}`);
            if (!(Math.abs(gGamma![ch]! - refGamma![ch]!) <= 40 * eps32 * absDyX[ch]! + 1e-7)) throw new Error(`dgamma ${ch}: ${gGamma![ch]} vs ${refGamma![ch]}`);
          }
          for (let i = 0; i < size; i++) {
            const item = Math.floor(i / count), ch = Math.floor(i / p.hw) % c, r = rstd[item]!;
            const tol = 40 * eps32 * r * (Math.abs(gy[i]! * gamma[ch]!) + groupD[item]! + Math.abs(xhat(i)) * groupDX[item]!) + 1e-7;
            if (!(Math.abs(gx[i]! - refGx[i]!) <= tol)) throw new Error(`dx ${i}: wasm ${gx[i]}, reference ${refGx[i]} (tolerance ${tol})`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("WebAssembly group norm's SiLU gradient matches the reference", () => {
  // d = dy silu'(y) with y recomputed from the forward's float32 mean and rstd: y differs from the
  // reference's by a few float32 roundings of (|x| + |mean|) rstd |gamma| + |beta| (silu' moves at most
  // 0.5 per unit of y), plus silu''s own rounding (see the SiLU test).
  it('over random geometry (tails that are not whole vectors), offset values', () => {
    const eps32 = 2 ** -24;
    fc.assert(
      fc.property(groupNormCases({ groups: 4, cpg: 4, offset: 5 }), fc.boolean(), (p, resident) => {
        const c = p.groups * p.cpg, size = p.n * c * p.hw, items = p.n * p.groups, count = p.cpg * p.hw;
        const g = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5 };
        const x = random(size, p.seed).map((v) => v + p.offset), gamma = random(c, p.seed + 1), beta = random(c, p.seed + 2), gy = random(size, p.seed + 3);
        const y = new Float32Array(size), mean = new Float32Array(items), rstd = new Float32Array(items);
        groupNormInto(x, gamma, beta, y, mean, rstd, g);
        const d = place(new Float32Array(size).fill(Number.NaN), resident), ref = new Float32Array(size);
        const r = (v: Float32Array) => place(v, resident);
        groupNormSiluGradF32(r(gy), r(x), r(gamma), r(beta), r(mean), r(rstd), d, g);
        unaryGrad('silu', y, gy, ref);
        for (let i = 0; i < size; i++) {
          const item = Math.floor(i / count), ch = Math.floor(i / p.hw) % c;
          const yError = 8 * eps32 * ((Math.abs(x[i]!) + Math.abs(mean[item]!)) * rstd[item]! * Math.abs(gamma[ch]!) + Math.abs(beta[ch]!));
          const tol = Math.abs(gy[i]!) * (0.5 * yError + 6e-8 * (Math.abs(y[i]!) + 4) * 1.1) + 1e-30;
          if (!(Math.abs(d[i]! - ref[i]!) <= tol)) throw new Error(`d ${i}: wasm ${d[i]}, reference ${ref[i]} (tolerance ${tol})`);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('WebAssembly row sums (reduce sum keeping a middle block) match the reference', () => {
  // float32 lanes over chunks of 64 values (15 adds a lane, each rounding by at most 2^-24 of the
  // sum of |terms|), each chunk added in float64, then the float32 store: with the reference's own
  // store, 17 x 2^-24 of the sum of |terms|.
  it('over shapes and axes whose kept dimensions are one block, and leave others to the reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
        (shape, reduced, resident, seed) => {
          const axes = shape.map((_, d) => d).filter((d) => reduced[d]);
          const size = shape.reduce((x, y) => x * y, 1), block = keptBlock(shape, axes);
          const outShape = shape.map((n, d) => (axes.includes(d) ? 1 : n)), outSize = outShape.reduce((x, y) => x * y, 1);
          if (!block) return;
          expect(block.outer * block.mid * block.inner).toBe(size);
          expect(block.mid).toBe(outSize);
          const x = place(random(size, seed), resident);
          const [fast, ref, mag] = [place(new Float32Array(outSize).fill(Number.NaN), resident), new Float32Array(outSize), new Float32Array(outSize)];
          sumKeptBlockF32(x, block, fast);
          reduce('sum', x, shape, axes, ref);
          reduce('sum', abs(x), shape, axes, mag);
          fast.forEach((v, i) => {
            if (!(Math.abs(v - ref[i]!) <= 17 * 2 ** -24 * mag[i]! + 1e-30)) throw new Error(`sum ${i}: wasm ${v}, reference ${ref[i]}`);
          });
        },
      ),
      { numRuns: 150 },
    );
    expect(keptBlock([32, 64, 16, 16], [0, 2, 3])).toEqual({ outer: 32, mid: 64, inner: 256 });
    expect(keptBlock([32, 64, 16, 16], [1])).toBe(null); // kept dimensions on both sides of a reduced one
    expect(keptBlock([32, 64], [0])).toBe(null); // rows of one value
  });
});

describe('WebAssembly AdamW and the EMA update match the JavaScript loops bit for bit', () => {
  // The same float32 operations in the same order (kernels/cpu/optim.ts): equal results, tails included.
  it('over sizes, hyper-parameters (clipping scale, weight decay, bias corrections), in place or not', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3000 }), lr: fc.double({ min: 1e-5, max: 1e-2, noNaN: true }), weightDecay: fc.constantFrom(0, 0.01, 0.1),
          gradScale: fc.double({ min: 0.1, max: 1, noNaN: true }), step: fc.integer({ min: 1, max: 1000 }), inPlace: fc.boolean(),
          resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (q) => {
          const h = { lr: q.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: q.weightDecay, gradScale: q.gradScale, biasCorrection1: 1 - 0.9 ** q.step, biasCorrection2: 1 - 0.999 ** q.step };
          const p = random(q.n, q.seed), g = random(q.n, q.seed + 1), m = random(q.n, q.seed + 2).map((x) => x * 0.1), v = random(q.n, q.seed + 3).map((x) => x * x * 0.01);
          const expected = [new Float32Array(q.n), new Float32Array(q.n), new Float32Array(q.n)] as const;
          adamwInto(p, g, m, v, ...expected, h);
          const [pw, gw, mw, vw] = [p, g, m, v].map((x) => place(x.slice(), q.resident)) as [Float32Array, Float32Array, Float32Array, Float32Array];
          const outs = q.inPlace ? [pw, mw, vw] as const : [0, 1, 2].map(() => place(new Float32Array(q.n).fill(Number.NaN), q.resident)) as [Float32Array, Float32Array, Float32Array];
          adamwF32(pw, gw, mw, vw, ...outs, h);
          outs.forEach((out, k) => expect(Array.from(out)).toEqual(Array.from(expected[k])));
          // the EMA update that follows it: e' = e mu + p (1 - mu)
          const mu = 1 - q.lr * 10, ema = place(m.slice(), q.resident), emaOut = q.inPlace ? ema : place(new Float32Array(q.n).fill(Number.NaN), q.resident);
          const emaExpected = new Float32Array(q.n);
          axpby(m, outs[0].slice(), mu, 1 - mu, emaExpected);
          axpbyF32(ema, outs[0], mu, 1 - mu, emaOut);
          expect(Array.from(emaOut)).toEqual(Array.from(emaExpected));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('WebAssembly nearest x2 up-sampling matches the reference', () => {
  // Forward: copies, bit for bit. Backward: each value a float32 sum of 4 (3 roundings of at most
  // 2^-24 of the sum of |terms|) against the reference's float64 sum rounded once: 4 x 2^-24.
  it('forward and backward over planes, heights and widths that are whole vectors', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), (planes, h, quarter, resident, seed) => {
        const w = 4 * quarter, small = planes * h * w;
        expect(upsampleApplies(w) && !upsampleApplies(w + 2)).toBe(true);
        const x = random(small, seed), gy = random(4 * small, seed + 1);
        const [up, upRef] = [place(new Float32Array(4 * small).fill(Number.NaN), resident), new Float32Array(4 * small)];
        upsampleNearest2xF32(place(x, resident), up, planes, h, w);
        upsampleNearest2x(x, upRef, planes, h, w);
        expect(Array.from(up)).toEqual(Array.from(upRef));
        const [gx, gxRef, mag] = [place(new Float32Array(small).fill(Number.NaN), resident), new Float32Array(small), new Float32Array(small)];
        upsampleNearest2xBackwardF32(place(gy, resident), gx, planes, h, w);
        upsampleNearest2xBackward(gy, gxRef, planes, h, w);
        upsampleNearest2xBackward(abs(gy), mag, planes, h, w);
        gx.forEach((v, i) => {
          if (!(Math.abs(v - gxRef[i]!) <= 4 * 2 ** -24 * mag[i]!)) throw new Error(`dx ${i}: wasm ${v}, reference ${gxRef[i]}`);
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('WebAssembly add/sub/mul/div match the reference', () => {
  // Each output is one float32 operation on the same operands: results must be bit-identical.
  it('on contiguous and row-broadcast operands, either side, and leave other layouts to the reference', () => {
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
          keepA: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), keepB: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
          op: fc.constantFrom('add' as const, 'sub' as const, 'mul' as const, 'div' as const), offset: fc.integer({ min: 0, max: 3 }),
          resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          // operands of the output's shape with some dimensions broadcast (size 1), stored after `offset` spare values
          const operand = (keep: boolean[], seed: number) => {
            const own = p.shape.map((n, d) => (keep[d] ? n : 1));
            const buffer = place(random(p.offset + own.reduce((x, y) => x * y, 1), seed), p.resident);
            return { buffer, offset: p.offset, strides: broadcastStrides(own, p.shape) };
          };
          const a = operand(p.keepA, p.seed), b = operand(p.keepB, p.seed + 1);
          const size = p.shape.reduce((x, y) => x * y, 1);
          const [fast, ref] = [place(new Float32Array(size).fill(Number.NaN), p.resident), new Float32Array(size)];
          binary(p.op, a, b, p.shape, ref);
          if (binaryF32(p.op, a, b, p.shape, fast)) expect(fast).toEqual(ref);
          else expect(fast.every(Number.isNaN)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('takes the U-Net layouts: residual, bias, time embedding, per-image scale, scalar', () => {
    const shape = [4, 6, 5, 8], size = 4 * 6 * 5 * 8;
    const view = (own: number[], seed: number) => ({ buffer: random(own.reduce((x, y) => x * y, 1), seed), offset: 0, strides: broadcastStrides(own, shape) });
    const cases: [ReturnType<typeof view>, ReturnType<typeof view>][] = [
      [view(shape, 1), view(shape, 2)],
      [view(shape, 1), view([1, 6, 1, 1], 3)],
      [view(shape, 1), view([4, 6, 1, 1], 4)],
      [view([4, 1, 1, 1], 5), view(shape, 1)],
      [view(shape, 1), view([1], 6)],
    ];
    for (const [a, b] of cases) {
      const [fast, ref] = [new Float32Array(size), new Float32Array(size)];
      expect(binaryF32('sub', a, b, shape, fast)).toBe(true);
      binary('sub', a, b, shape, ref);
      expect(fast).toEqual(ref);
    }
    expect(contiguousStrides(shape)).toEqual([240, 40, 8, 1]);
  });
});

describe('WebAssembly SiLU and its gradient match the reference', () => {
  // The float32 range reduction rounds v log2(e), so the relative error grows with |x|: allow
  // 6e-8 (|x| + 4) of the size of the terms (4 half-ulps at 0: exp's two, 1 + e, the division);
  // the gradient rounds three more times (g s, 1 + x (1 - s), the product): 6e-8 (|x| + 7). Values
  // under 1e-30 (the clamped far tail) are equal.
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const inputs = fc.integer({ min: 1, max: 5000 }).chain((n) =>
    fc.tuple(
      fc.array(fc.oneof(fc.double({ min: -30, max: 30, noNaN: true }), fc.constantFrom(0, -0, 100, -100, 87, -87, 1e-30, -1.2785)), { minLength: n, maxLength: n }),
      fc.integer({ min: 0, max: 1e6 }),
    ),
  );
  it('forward and gradient over random sizes and values, tails included', () => {
    fc.assert(
      fc.property(inputs, fc.boolean(), ([values, seed], resident) => {
        const x = place(Float32Array.from(values), resident), g = place(random(x.length, seed), resident);
        const [fast, ref] = [place(new Float32Array(x.length).fill(Number.NaN), resident), new Float32Array(x.length)];
        siluF32(x, fast);
        unary('silu', x, ref);
        x.forEach((v, i) => {
          const tol = 6e-8 * (Math.abs(v) + 4) * Math.abs(ref[i]!) + 1e-30;
          if (!(Math.abs(fast[i]! - ref[i]!) <= tol)) throw new Error(`silu(${v}): fast ${fast[i]}, reference ${ref[i]}`);
        });
        siluGradF32(x, g, fast);
        unaryGrad('silu', x, g, ref);
        x.forEach((v, i) => {
          const s = sigmoid(v);
          const tol = 6e-8 * (Math.abs(v) + 7) * Math.abs(g[i]!) * s * (1 + Math.abs(v) * (1 - s)) + 1e-30;
          if (!(Math.abs(fast[i]! - ref[i]!) <= tol)) throw new Error(`silu'(${v}) * ${g[i]}: fast ${fast[i]}, reference ${ref[i]}`);
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('the cpu backend\'s fused paths match the reference backend', () => {
  // Group norm (+ SiLU) backward (the output recomputed in wasm, silu' in wasm, then the wasm
  // backward), and the conv epilogue as wasm adds and multiplies: against cpu-reference's loops.
  it('group norm with and without SiLU, forward and backward, over sizes past the wasm threshold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }), fc.boolean(), (n, groups, cpg, seed, silu) => {
        const c = groups * cpg, hw = 2100, size = n * c * hw, items = n * groups;
        const g = { n, c, hw, groups, eps: 1e-5, silu };
        const x = random(size, seed), gamma = random(c, seed + 1), beta = random(c, seed + 2), gy = random(size, seed + 3);
        const run = (be: typeof cpuBackend | typeof cpuReferenceBackend) => {
          const out = new Float32Array(size), stats = new Float32Array(2 * items);
          be.groupNorm(x, gamma, beta, out, stats, g);
          const gx = new Float32Array(size), gGamma = new Float32Array(c), gBeta = new Float32Array(c);
          be.groupNormBackward(gy, x, gamma, beta, stats, gx, gGamma, gBeta, g);
          return [out, gx, gGamma, gBeta];
        };
        const fast = run(cpuBackend), ref = run(cpuReferenceBackend);
        ['out', 'grad x', 'grad gamma', 'grad beta'].forEach((what, k) => {
          const scale = Math.max(...Array.from(ref[k]!, Math.abs));
          ref[k]!.forEach((v, i) => {
            // float32 statistics (wasm) against float64 ones, carried through sums of up to cpg*hw terms
            if (!(Math.abs(fast[k]![i]! - v) <= 2e-5 * scale + 1e-6)) throw new Error(`${what} ${i}: ${fast[k]![i]} vs ${v}`);
          });
        });
      }),
      { numRuns: 8 },
    );
  });

  it('conv2d with its bias and epilogue in the Winograd output transform: as the separate float32 passes round them, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }), cIn: fc.integer({ min: 8, max: 12 }), cOut: fc.integer({ min: 1, max: 6 }),
          rows: fc.integer({ min: 1, max: 5 }), eights: fc.integer({ min: 1, max: 2 }),
          present: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          const [h, w] = [2 * p.rows, 8 * p.eights];
          const g: Conv2dGeometry = { n: p.n, cIn: p.cIn, h, w, cOut: p.cOut, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: h, outW: w };
          expect(winogradTermsApply(g)).toBe(true);
          const size = p.n * p.cOut * h * w, hw = h * w;
          const maybe = (k: number, count: number) => (p.present[k] ? place(random(count, p.seed + 10 + k), p.resident) : null);
          const terms = { bias: maybe(0, p.cOut), convScale: maybe(1, p.n), residual: maybe(2, size), residualScale: p.present[2] ? maybe(3, p.n) : null, channelAdd: maybe(4, p.n * p.cOut) };
          const x = place(random(p.n * p.cIn * hw, p.seed), p.resident), wt = place(random(p.cOut * p.cIn * 9, p.seed + 1), p.resident);
          const fused = place(new Float32Array(size).fill(Number.NaN), p.resident), plain = new Float32Array(size);
          conv2dWinogradF32(x, wt, fused, g, terms);
          conv2dWinogradF32(x, wt, plain, g);
          const f32 = Math.fround;
          const expected = plain.map((v, i) => {
            const b = Math.floor(i / (p.cOut * hw)), co = Math.floor(i / hw) % p.cOut;
            let y = terms.bias ? f32(v + terms.bias[co]!) : v;
            if (terms.convScale) y = f32(y * terms.convScale[b]!);
            if (terms.residual) y = f32(y + (terms.residualScale ? f32(terms.residual[i]! * terms.residualScale[b]!) : terms.residual[i]!));
            if (terms.channelAdd) y = f32(y + terms.channelAdd[b * p.cOut + co]!);
            return y;
          });
          expect(Array.from(fused)).toEqual(Array.from(expected));
        },
      ),
      { numRuns: 40 },
    );
    expect(winogradTermsApply({ n: 1, cIn: 8, h: 8, w: 12, cOut: 1, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 8, outW: 12 })).toBe(false);
  });

  it('conv2d with a bias and every epilogue term (fused into Winograd at 8x16, separate passes at 12x11 and after the direct 65 -> 1)', () => {
    for (const [n, cIn, cOut, h, w] of [[3, 8, 5, 12, 11], [3, 8, 5, 8, 16], [3, 65, 1, 8, 16]] as const) {
      const g: Conv2dGeometry = { n, cIn, h, w, cOut, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: h, outW: w };
      const x = random(n * cIn * h * w, 1), wt = random(cOut * cIn * 9, 2), bias = random(cOut, 3);
      const size = n * cOut * h * w;
      const e = { residual: random(size, 4), convScale: random(n, 5), residualScale: random(n, 6), channelAdd: random(n * cOut, 7) };
      const fast = new Float32Array(size), ref = new Float32Array(size);
      cpuBackend.conv2d(x, wt, bias, fast, g, e);
      cpuReferenceBackend.conv2d(x, wt, bias, ref, g, e);
      const scale = Math.max(...Array.from(ref, Math.abs));
      ref.forEach((v, i) => expect(Math.abs(fast[i]! - v)).toBeLessThanOrEqual(1e-5 * scale));
    }
  });
});
