import type {
  AdamWHyper, Backend, ConvEpilogue, BinaryOp, ReduceOp, Conv2dGeometry, DifferentiableUnaryOp, DType, GroupNormGeometry, MatmulGeometry, Shape, StridedView, TypedArray, UnaryOp,
} from '../../src/backend/backend';
import { conv2d, conv2dGradInput, conv2dGradWeight, conv2dNoBias } from './conv';
import { concat, copy } from './copy';
import { binary, cast, fill, unary, unaryGrad, where } from './elementwise';
import { addRowBias, matmul } from './matmul';
import { adamwInto, axpby } from './optim';
import { LiveBuffers } from './live';
import { BufferPool } from './pool';
import { groupNorm, groupNormBackward } from './norm';
import { reduce } from './reduce';
import { upsampleNearest2x, upsampleNearest2xBackward } from './resample';
import { siluF32, siluGradF32 } from './wasm/activation';
import { conv2dF32, conv2dGradInputF32, conv2dGradWeightF32, gradInputAsConv } from './wasm/conv';
import { directConvApplies } from './wasm/direct-conv';
import { groupNormBackwardF32, groupNormF32, groupNormSiluGradF32 } from './wasm/norm';
import { binaryF32 } from './wasm/binary';
import { isWasmBinaryOp } from './wasm/binary-module';
import { gemmF32 } from './wasm/gemm';
import { keptBlock, sumKeptBlockF32 } from './wasm/reduce';
import { adamwF32, axpbyF32 } from './wasm/optim';
import { upsampleApplies, upsampleNearest2xBackwardF32, upsampleNearest2xF32 } from './wasm/resample';
import { conv2dWinogradF32, winogradTermsApply, type ConvTerms } from './wasm/winograd';
import { getRuntime, runtimeIfStarted } from './wasm/runtime';

type AdamwInto = typeof adamwInto;

/** Backend.adamw: the step into three new buffers from `alloc`, by `step` (the JavaScript loop, or wasm for large float32 tensors). */
function adamwOnto(alloc: (size: number, dtype: DType) => TypedArray, step: AdamwInto = adamwInto) {
  return (p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, h: AdamWHyper): [TypedArray, TypedArray, TypedArray] => {
    const dtype: DType = p instanceof Float32Array ? 'float32' : 'float64';
    const [p1, m1, v1] = [alloc(p.length, dtype), alloc(p.length, dtype), alloc(p.length, dtype)];
    step(p, g, m, v, p1, m1, v1, h);
    return [p1, m1, v1];
  };
}

const newArray = (size: number, dtype: DType): TypedArray => (dtype === 'float32' ? new Float32Array(size) : new Float64Array(size));
const arrayFrom = (data: ArrayLike<number>, dtype: DType): TypedArray => (dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data));
const copyInto = (out: TypedArray, data: ArrayLike<number>): TypedArray => {
  out.set(data);
  return out;
};
/** The buffers each CPU backend has handed out and not yet disposed (live.ts). */
const referenceLive = new LiveBuffers(), live = new LiveBuffers();

/**
 * The reference backend: plain loops over Float32Array / Float64Array, the readable definition.
 * dispose frees nothing (the garbage collector does); it only ends the buffer's count in memoryStats.
 */
export const cpuReferenceBackend = {
  name: 'cpu-reference',
  supportsDType: () => true,
  alloc: (size: number, dtype: DType): TypedArray => referenceLive.handOut(newArray(size, dtype)),
  fromArray: (data: ArrayLike<number>, dtype: DType): TypedArray => referenceLive.handOut(arrayFrom(data, dtype)),
  read: (buffer: TypedArray): TypedArray => buffer.slice(),
  size: (buffer: TypedArray): number => buffer.length,
  dtype: (buffer: TypedArray): DType => (buffer instanceof Float32Array ? 'float32' : 'float64'),
  dispose: (buffer: TypedArray): void => referenceLive.dispose(buffer),
  memoryStats: () => referenceLive.stats(),
  fill,
  cast: (x: TypedArray, dtype: DType): TypedArray => referenceLive.handOut(cast(x, dtype)),
  unary,
  unaryGrad,
  binary,
  where,
  reduce,
  copy,
  concat,
  matmul,
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  groupNorm,
  groupNormBackward,
  upsampleNearest2x,
  upsampleNearest2xBackward,
  adamw: adamwOnto((size, dtype) => referenceLive.handOut(newArray(size, dtype))),
  axpby,
} satisfies Backend<TypedArray>;

// Below this many multiply-adds, packing and thread hand-off cost more than the loops they save.
const FAST_MIN_MACS = 32 * 32 * 32;
// Likewise for elementwise kernels, in elements.
const FAST_MIN_ELEMENTS = 1 << 14;

const f32 = (...xs: TypedArray[]): boolean => xs.every((x) => x instanceof Float32Array);
const convMacs = (g: Conv2dGeometry): number => g.n * g.cOut * g.cIn * g.kh * g.kw * g.outH * g.outW;
const gemmMacs = (g: MatmulGeometry): number => g.batch * g.m * g.n * g.k;

const pool = new BufferPool();

// Float32 buffers from this size up live in the wasm heap (wasm/heap.ts), where the kernels use
// them in place; smaller ones, float64 and any where the heap cannot hold tensors come from the pool.
const HEAP_MIN_ELEMENTS = 1 << 12;

function allocArray(size: number, dtype: DType): TypedArray {
  return (dtype === 'float32' && size >= HEAP_MIN_ELEMENTS && getRuntime().heap.tensor(size)) || pool.alloc(size, dtype);
}

function disposeArray(buffer: TypedArray): void {
  if (!(buffer instanceof Float32Array && runtimeIfStarted()?.heap.dispose(buffer))) pool.dispose(buffer);
}

/**
 * The CPU backend: the reference kernels, with float32 GEMM, convolutions, group norm, SiLU
 * (forward and gradient) and add/sub/mul/div on contiguous or row-broadcast layouts replaced by the WebAssembly SIMD kernels of kernels/cpu/wasm on all cores (float64
 * and small tensors stay on the reference). Buffers freed by tidy() / dispose() are reused (pool.ts).
 */
export const cpuBackend = {
  ...cpuReferenceBackend,
  name: 'cpu',
  alloc: (size: number, dtype: DType): TypedArray => live.handOut(allocArray(size, dtype)),
  // from the pool, like alloc: a fresh array here for every batch and noise draw, disposed into the
  // pool and never taken back out, grew the idle pool by ~30 MB per 1,000 training steps
  fromArray: (data: ArrayLike<number>, dtype: DType): TypedArray => live.handOut(copyInto(allocArray(data.length, dtype), data)),
  cast: (x: TypedArray, dtype: DType): TypedArray => live.handOut(copyInto(allocArray(x.length, dtype), x)),
  dispose: (buffer: TypedArray): void => {
    live.dispose(buffer);
    disposeArray(buffer);
  },
  reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void {
    const block = op === 'sum' && f32(x, out) && x.length >= FAST_MIN_ELEMENTS ? keptBlock(shape, axes) : null;
    if (block) sumKeptBlockF32(x as Float32Array, block, out as Float32Array);
    else reduce(op, x, shape, axes, out);
  },
  memoryStats: () => ({ ...live.stats(), pooledBytes: pool.idleBytes + (runtimeIfStarted()?.heap.idleBytes ?? 0) }),
  unary: (op: UnaryOp, x: TypedArray, out: TypedArray): void =>
    op === 'silu' && f32(x, out) && x.length >= FAST_MIN_ELEMENTS
      ? siluF32(x as Float32Array, out as Float32Array)
      : unary(op, x, out),
  unaryGrad: (op: DifferentiableUnaryOp, x: TypedArray, grad: TypedArray, out: TypedArray): void =>
    op === 'silu' && f32(x, grad, out) && x.length >= FAST_MIN_ELEMENTS
      ? siluGradF32(x as Float32Array, grad as Float32Array, out as Float32Array)
      : unaryGrad(op, x, grad, out),
  matmul(a: TypedArray, b: TypedArray, out: TypedArray, g: MatmulGeometry, bias?: TypedArray | null): void {
    if (!(f32(a, b, out) && gemmMacs(g) >= FAST_MIN_MACS)) return matmul(a, b, out, g, bias);
    gemmF32(a as Float32Array, b as Float32Array, out as Float32Array, g);
    if (bias) addRowBias(out, bias, g.n);
  },
  conv2d(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: Conv2dGeometry, epilogue?: ConvEpilogue<TypedArray>): void {
    const terms = { bias, convScale: null, residual: null, residualScale: null, channelAdd: null, ...epilogue };
    const fast = f32(x, w, out) && convMacs(g) >= FAST_MIN_MACS;
    // the bias and the epilogue in Winograd's output transform where it writes whole tiles
    if (fast && !directConvApplies(g) && winogradTermsApply(g) && f32(...Object.values(terms).filter((t) => t !== null))) {
      return conv2dWinogradF32(x as Float32Array, w as Float32Array, out as Float32Array, g, terms as ConvTerms);
    }
    if (fast) conv2dF32(x as Float32Array, w as Float32Array, out as Float32Array, g);
    else conv2dNoBias(x, w, out, g);
    const hw = g.outH * g.outW, shape = [g.n, g.cOut, hw];
    // The bias and the epilogue as the element-wise adds and multiplies they are (wasm when large).
    const whole = { buffer: out, offset: 0, strides: [g.cOut * hw, hw, 1] };
    const add = (b: TypedArray, strides: number[]): void => cpuBackend.binary('add', whole, { buffer: b, offset: 0, strides }, shape, out);
    if (bias) add(bias, [0, 1, 0]);
    if (!epilogue) return;
    if (epilogue.convScale) cpuBackend.binary('mul', whole, { buffer: epilogue.convScale, offset: 0, strides: [1, 0, 0] }, shape, out);
    if (epilogue.residual) {
      let residual = epilogue.residual;
      if (epilogue.residualScale) {
        residual = allocArray(out.length, cpuReferenceBackend.dtype(out));
        cpuBackend.binary('mul', { ...whole, buffer: epilogue.residual }, { buffer: epilogue.residualScale, offset: 0, strides: [1, 0, 0] }, shape, residual);
      }
      add(residual, whole.strides);
      if (residual !== epilogue.residual) disposeArray(residual);
    }
    if (epilogue.channelAdd) add(epilogue.channelAdd, [g.cOut, 1, 0]);
  },
  conv2dGradInput: (gy: TypedArray, w: TypedArray, gx: TypedArray, g: Conv2dGeometry): void =>
    f32(gy, w, gx) && convMacs(g) >= FAST_MIN_MACS && gradInputAsConv(g)
      ? conv2dGradInputF32(gy as Float32Array, w as Float32Array, gx as Float32Array, g)
      : conv2dGradInput(gy, w, gx, g),
  adamw: adamwOnto((size, dtype) => live.handOut(allocArray(size, dtype)), (p, g, m, v, p1, m1, v1, h) =>
    f32(p, g, m, v) && p.length >= FAST_MIN_ELEMENTS
      ? adamwF32(p as Float32Array, g as Float32Array, m as Float32Array, v as Float32Array, p1 as Float32Array, m1 as Float32Array, v1 as Float32Array, h)
      : adamwInto(p, g, m, v, p1, m1, v1, h)),
  axpby: (x: TypedArray, y: TypedArray, alpha: number, beta: number, out: TypedArray): void =>
    f32(x, y, out) && out.length >= FAST_MIN_ELEMENTS
      ? axpbyF32(x as Float32Array, y as Float32Array, alpha, beta, out as Float32Array)
      : axpby(x, y, alpha, beta, out),
  upsampleNearest2x: (x: TypedArray, out: TypedArray, planes: number, h: number, w: number): void =>
    f32(x, out) && out.length >= FAST_MIN_ELEMENTS && upsampleApplies(w)
      ? upsampleNearest2xF32(x as Float32Array, out as Float32Array, planes, h, w)
      : upsampleNearest2x(x, out, planes, h, w),
  upsampleNearest2xBackward: (gy: TypedArray, gx: TypedArray, planes: number, h: number, w: number): void =>
    f32(gy, gx) && gy.length >= FAST_MIN_ELEMENTS && upsampleApplies(w)
      ? upsampleNearest2xBackwardF32(gy as Float32Array, gx as Float32Array, planes, h, w)
      : upsampleNearest2xBackward(gy, gx, planes, h, w),
  binary: (op: BinaryOp, a: StridedView<TypedArray>, b: StridedView<TypedArray>, outShape: Shape, out: TypedArray): void => {
    const fast = f32(a.buffer, b.buffer, out) && out.length >= FAST_MIN_ELEMENTS && isWasmBinaryOp(op);
    if (!fast || !binaryF32(op, a as StridedView<Float32Array>, b as StridedView<Float32Array>, outShape, out as Float32Array)) {
      binary(op, a, b, outShape, out);
    }
  },
  groupNorm(x: TypedArray, gamma: TypedArray, beta: TypedArray, out: TypedArray, stats: TypedArray, g: GroupNormGeometry): void {
    if (!(f32(x, gamma, beta, out, stats) && x.length >= FAST_MIN_ELEMENTS)) return groupNorm(x, gamma, beta, out, stats, g);
    const items = g.n * g.groups;
    groupNormF32(
      x as Float32Array, gamma as Float32Array, beta as Float32Array, out as Float32Array,
      stats.subarray(0, items) as Float32Array, stats.subarray(items, 2 * items) as Float32Array, g,
    );
  },
  /** In wasm; with a fused SiLU, dy silu'(y) first, y recomputed from the forward's statistics (also in wasm). */
  groupNormBackward(
    gy: TypedArray, x: TypedArray, gamma: TypedArray, beta: TypedArray, stats: TypedArray,
    gx: TypedArray, gGamma: TypedArray, gBeta: TypedArray, g: GroupNormGeometry,
  ): void {
    const items = g.n * g.groups, mean = stats.subarray(0, items), rstd = stats.subarray(items, 2 * items);
    if (!(f32(gy, x, gamma, beta, stats) && x.length >= FAST_MIN_ELEMENTS)) {
      return groupNormBackward(gy, x, gamma, beta, stats, gx, gGamma, gBeta, g);
    }
    const [gy32, x32, gamma32, mean32, rstd32] = [gy, x, gamma, mean, rstd] as Float32Array[];
    const [gx32, gGamma32, gBeta32] = [gx, gGamma, gBeta] as Float32Array[];
    if (!g.silu) return groupNormBackwardF32(gy32!, x32!, gamma32!, mean32!, rstd32!, gx32!, gGamma32!, gBeta32!, g);
    const d = allocArray(x.length, 'float32') as Float32Array;
    groupNormSiluGradF32(gy32!, x32!, gamma32!, beta as Float32Array, mean32!, rstd32!, d, g);
    groupNormBackwardF32(d, x32!, gamma32!, mean32!, rstd32!, gx32!, gGamma32!, gBeta32!, g);
    disposeArray(d);
  },
  conv2dGradWeight: (x: TypedArray, gy: TypedArray, gw: TypedArray, g: Conv2dGeometry): void =>
    f32(x, gy, gw) && convMacs(g) >= FAST_MIN_MACS
      ? conv2dGradWeightF32(x as Float32Array, gy as Float32Array, gw as Float32Array, g)
      : conv2dGradWeight(x, gy, gw, g),
} satisfies Backend<TypedArray>;
