import type {
  AdamWHyper, Backend, ConvEpilogue, BinaryOp, ReduceOp, Conv2dGeometry, DType, MatmulGeometry, Shape, StridedView, TypedArray,
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
import { softmax, softmaxBackward } from './softmax';
import { upsampleNearest2x, upsampleNearest2xBackward } from './resample';
import { siluF32, siluGradF32 } from './wasm/activation';
import { softmaxApplies, softmaxBackwardF32, softmaxF32 } from './wasm/softmax';
import { CONV2D_GRAD_INPUT_PATHS, CONV2D_GRAD_WEIGHT_PATHS, CONV2D_PATHS, convPathFor, type ConvPath } from './wasm/conv-paths';
import { groupNormBackwardF32, groupNormF32, groupNormSiluGradF32 } from './wasm/norm';
import { binaryF32 } from './wasm/binary';
import { isWasmBinaryOp } from './wasm/binary-module';
import { gemmF32 } from './wasm/gemm';
import { keptBlock, sumKeptBlockF32 } from './wasm/reduce';
import { adamwF32, axpbyF32 } from './wasm/optim';
import { upsampleApplies, upsampleNearest2xBackwardF32, upsampleNearest2xF32 } from './wasm/resample';
import type { ConvTerms } from './wasm/winograd';
import { getRuntime, runtimeIfStarted } from './wasm/runtime';
import { wasmWhen } from './wasm-when';

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
  softmax,
  softmaxBackward,
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
/** Whether the buffers are float32 and `elements` is large enough for the wasm elementwise kernels. */
const largeF32 = (elements: number, ...xs: TypedArray[]): boolean => elements >= FAST_MIN_ELEMENTS && f32(...xs);
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

/** The first of `paths` that applies to float32 operands of at least FAST_MIN_MACS; undefined: the reference loop. */
const wasmConvPath = (paths: readonly ConvPath[], a: TypedArray, b: TypedArray, out: TypedArray, g: Conv2dGeometry): ConvPath | undefined =>
  (f32(a, b, out) && convMacs(g) >= FAST_MIN_MACS ? convPathFor(paths, g) : undefined);

/** A convolution by wasmConvPath, else by `reference`. */
function convByPaths(paths: readonly ConvPath[], reference: (a: TypedArray, b: TypedArray, out: TypedArray, g: Conv2dGeometry) => void) {
  return (a: TypedArray, b: TypedArray, out: TypedArray, g: Conv2dGeometry): void => {
    const path = wasmConvPath(paths, a, b, out, g);
    if (path) path.run(a as Float32Array, b as Float32Array, out as Float32Array, g);
    else reference(a, b, out, g);
  };
}

/**
 * The CPU backend: the reference kernels, with float32 GEMM, convolutions, group norm, SiLU
 * (forward and gradient), softmax over rows (and its gradient) and add/sub/mul/div on contiguous or row-broadcast layouts replaced by the WebAssembly SIMD kernels of kernels/cpu/wasm on all cores (float64
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
  softmax: wasmWhen((x, out, rows, cols) => largeF32(rows * cols, x, out) && softmaxApplies(cols), softmaxF32, softmax),
  softmaxBackward: wasmWhen((y, gy, gx, rows, cols) => largeF32(rows * cols, y, gy, gx) && softmaxApplies(cols), softmaxBackwardF32, softmaxBackward),
  memoryStats: () => ({ ...live.stats(), pooledBytes: pool.idleBytes + (runtimeIfStarted()?.heap.idleBytes ?? 0) }),
  unary: wasmWhen((op, x, out) => op === 'silu' && largeF32(x.length, x, out), (_op, x, out) => siluF32(x, out), unary),
  unaryGrad: wasmWhen((op, x, grad, out) => op === 'silu' && largeF32(x.length, x, grad, out), (_op, x, grad, out) => siluGradF32(x, grad, out), unaryGrad),
  matmul: wasmWhen<Parameters<typeof matmul>>(
    (a, b, out, g) => f32(a, b, out) && gemmMacs(g) >= FAST_MIN_MACS,
    (a, b, out, g, bias) => {
      gemmF32(a, b, out, g);
      if (bias) addRowBias(out, bias, g.n);
    },
    matmul,
  ),
  conv2d(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: Conv2dGeometry, epilogue?: ConvEpilogue<TypedArray>): void {
    const terms = { bias, convScale: null, residual: null, residualScale: null, channelAdd: null, ...epilogue };
    const path = wasmConvPath(CONV2D_PATHS, x, w, out, g);
    // the bias and the epilogue in the same pass where the path can (Winograd's output transform)
    if (path?.fused?.applies(g) && f32(...Object.values(terms).filter((t) => t !== null))) {
      return path.fused.run(x as Float32Array, w as Float32Array, out as Float32Array, g, terms as ConvTerms);
    }
    if (path) path.run(x as Float32Array, w as Float32Array, out as Float32Array, g);
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
  conv2dGradInput: convByPaths(CONV2D_GRAD_INPUT_PATHS, conv2dGradInput),
  conv2dGradWeight: convByPaths(CONV2D_GRAD_WEIGHT_PATHS, conv2dGradWeight),
  adamw: adamwOnto((size, dtype) => live.handOut(allocArray(size, dtype)), wasmWhen((p, g, m, v) => largeF32(p.length, p, g, m, v), adamwF32, adamwInto)),
  axpby: wasmWhen((x, y, _alpha, _beta, out) => largeF32(out.length, x, y, out), axpbyF32, axpby),
  upsampleNearest2x: wasmWhen(
    (x, out, _planes, _h, w) => largeF32(out.length, x, out) && upsampleApplies(w), upsampleNearest2xF32, upsampleNearest2x,
  ),
  upsampleNearest2xBackward: wasmWhen(
    (gy, gx, _planes, _h, w) => largeF32(gy.length, gy, gx) && upsampleApplies(w), upsampleNearest2xBackwardF32, upsampleNearest2xBackward,
  ),
  binary: (op: BinaryOp, a: StridedView<TypedArray>, b: StridedView<TypedArray>, outShape: Shape, out: TypedArray): void => {
    const fast = largeF32(out.length, a.buffer, b.buffer, out) && isWasmBinaryOp(op);
    // binaryF32 declines layouts other than contiguous and row-broadcast operands
    if (!fast || !binaryF32(op, a as StridedView<Float32Array>, b as StridedView<Float32Array>, outShape, out as Float32Array)) {
      binary(op, a, b, outShape, out);
    }
  },
  groupNorm: wasmWhen(
    (x, gamma, beta, out, stats) => largeF32(x.length, x, gamma, beta, out, stats),
    (x, gamma, beta, out, stats, g) => {
      const items = g.n * g.groups;
      groupNormF32(x, gamma, beta, out, stats.subarray(0, items), stats.subarray(items, 2 * items), g);
    },
    groupNorm,
  ),
  /** In wasm; with a fused SiLU, dy silu'(y) first, y recomputed from the forward's statistics (also in wasm). */
  groupNormBackward: wasmWhen(
    (gy, x, gamma, beta, stats) => largeF32(x.length, gy, x, gamma, beta, stats),
    (gy, x, gamma, beta, stats, gx, gGamma, gBeta, g) => {
      const items = g.n * g.groups, mean = stats.subarray(0, items), rstd = stats.subarray(items, 2 * items);
      if (!g.silu) return groupNormBackwardF32(gy, x, gamma, mean, rstd, gx, gGamma, gBeta, g);
      const d = allocArray(x.length, 'float32') as Float32Array;
      groupNormSiluGradF32(gy, x, gamma, beta, mean, rstd, d, g);
      groupNormBackwardF32(d, x, gamma, mean, rstd, gx, gGamma, gBeta, g);
      disposeArray(d);
    },
    groupNormBackward,
  ),
} satisfies Backend<TypedArray>;
