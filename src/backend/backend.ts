// The Backend interface: the primitive kernels every backend implements.
// Buffers are opaque to everything above this layer; all shapes arrive as plain numbers, and
// every buffer handed to a kernel is contiguous row-major unless strides are passed with it.
// The contract in prose, and how a kernel is added on each path: docs/architecture.md.

export type DType = 'float32' | 'float64';
export type Shape = readonly number[];
export type TypedArray = Float32Array | Float64Array;

export const UNARY_OPS = [
  'neg', 'exp', 'log', 'sin', 'cos', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'sign',
  'silu', 'reciprocal', 'square',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Unary ops whose derivative has a fused kernel. */
export const DIFFERENTIABLE_UNARY_OPS = ['sin', 'cos', 'tanh', 'sigmoid', 'silu', 'relu', 'abs'] as const;
export type DifferentiableUnaryOp = (typeof DIFFERENTIABLE_UNARY_OPS)[number];

export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'le', 'gt', 'ge', 'eq', 'ne',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export type ReduceOp = 'sum' | 'max';

/** A strided view of a buffer: element (i0, i1, ...) lives at offset + sum(ik * strides[k]). */
export interface StridedView<B> {
  buffer: B;
  offset: number;
  strides: readonly number[];
}

export interface MatmulGeometry {
  batch: number;
  m: number;
  k: number;
  n: number;
  /** Elements between consecutive batch matrices; 0 broadcasts one matrix over the batch. */
  aBatchStride: number;
  bBatchStride: number;
  /** a is stored as [k, m] (per batch) and read transposed. */
  transA: boolean;
  /** b is stored as [n, k] (per batch) and read transposed. */
  transB: boolean;
}

export interface Conv2dGeometry {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  outH: number;
  outW: number;
}

/**
 * What a convolution adds to its result in the same kernel: out = convScale[b] * (conv + bias) +
 * residualScale[b] * residual + channelAdd[b, c] (b: the image, c: the channel; a missing scale is
 * 1, a missing term 0).
 */
export interface ConvEpilogue<B> {
  /** Of the output's shape. */
  residual: B | null;
  /** One number per image each. */
  convScale: B | null;
  residualScale: B | null;
  /** [n, cOut]: one number per image and channel (a time embedding, say). */
  channelAdd: B | null;
}

export interface GroupNormGeometry {
  n: number;
  c: number;
  /** Spatial size per channel (H*W). */
  hw: number;
  groups: number;
  eps: number;
  /** Fused activation: the output is silu(group norm), and the backward takes the gradient of that. */
  silu?: boolean;
}

/** One AdamW step (torch.optim.AdamW); biasCorrectionK = 1 - betaK^step. */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The gradient is multiplied by this first (global-norm clipping); 1 when clipping is off. */
  gradScale: number;
  biasCorrection1: number;
  biasCorrection2: number;
}

/** What Backend.memoryStats reports: the buffers handed out and not yet released. */
export interface MemoryStats {
  /**
   * Buffers handed out (alloc, fromArray, cast, adamw) and neither disposed nor reclaimed by the
   * garbage collector; on the gpu.js backends, the device buffers alive in the worker.
   */
  liveBuffers: number;
  /** Their bytes, where the backend knows them (the CPU backends). */
  liveBytes?: number;
  /** Bytes of freed buffers the backend keeps for reuse (the cpu backend's pool). */
  pooledBytes?: number;
  /** Buffers the garbage collector reclaimed without a dispose (the CPU backends). */
  collected?: number;
}

export interface Backend<B = unknown> {
  readonly name: string;
  supportsDType(dtype: DType): boolean;

  /** A buffer of `size` elements; its contents are unspecified (every op writes all of its output). */
  alloc(size: number, dtype: DType): B;
  fromArray(data: ArrayLike<number>, dtype: DType): B;
  /** A fresh host copy of the buffer's contents. */
  read(buffer: B): TypedArray;
  size(buffer: B): number;
  dtype(buffer: B): DType;
  /** Releases device memory; the CPU backend leaves this to the garbage collector. */
  dispose(buffer: B): void;
  /** Live-buffer accounting (a leak shows as a count that grows); optional. */
  memoryStats?(): MemoryStats;

  fill(out: B, value: number): void;
  cast(x: B, dtype: DType): B;
  unary(op: UnaryOp, x: B, out: B): void;
  /** out = grad * f'(x) for the unary op f, in one pass (the activations' backward). */
  unaryGrad(op: DifferentiableUnaryOp, x: B, grad: B, out: B): void;
  /** out[idx] = op(a[idx], b[idx]) over outShape; broadcasting is a stride of 0. */
  binary(op: BinaryOp, a: StridedView<B>, b: StridedView<B>, outShape: Shape, out: B): void;
  /** out = cond != 0 ? a : b, broadcast like binary. */
  where(cond: StridedView<B>, a: StridedView<B>, b: StridedView<B>, outShape: Shape, out: B): void;
  /** Reduces x (shape inShape) over `axes`; out has inShape with those axes set to 1. */
  reduce(op: ReduceOp, x: B, inShape: Shape, axes: readonly number[], out: B): void;
  /**
   * Softmax over the last axis of x viewed as [rows, cols]: out[r, c] = exp(x[r, c] - max_r) /
   * sum_c' exp(x[r, c'] - max_r).
   */
  softmax(x: B, out: B, rows: number, cols: number): void;
  /** Its gradient from the output y: gx[r, c] = y[r, c] (gy[r, c] - sum_c' gy[r, c'] y[r, c']). */
  softmaxBackward(y: B, gy: B, gx: B, rows: number, cols: number): void;
  /** Copies the view src (shape `shape`) into the view dst. Covers permute, slice, expand, pad, concat. */
  copy(src: StridedView<B>, shape: Shape, dst: StridedView<B>): void;

  /** out = a @ b (+ bias[col] on every row when bias is given: a linear layer's). */
  matmul(a: B, b: B, out: B, g: MatmulGeometry, bias?: B | null): void;
  /**
   * Two contiguous tensors joined along one axis: a viewed as [outer, sizeA, inner], b as
   * [outer, sizeB, inner], out as [outer, sizeA + sizeB, inner].
   */
  concat(a: B, b: B, out: B, outer: number, sizeA: number, sizeB: number, inner: number): void;
  /** out = conv(x, weight) + bias[channel] (bias null: none), then the epilogue if given. */
  conv2d(x: B, weight: B, bias: B | null, out: B, g: Conv2dGeometry, epilogue?: ConvEpilogue<B>): void;
  conv2dGradInput(gradOut: B, weight: B, gradInput: B, g: Conv2dGeometry): void;
  conv2dGradWeight(x: B, gradOut: B, gradWeight: B, g: Conv2dGeometry): void;

  /**
   * y = (x - mean) * rstd * gamma[c] + beta[c] (then silu(y) when g.silu); also writes the
   * statistics: stats is [2, n * groups], the means then the reciprocal standard deviations.
   */
  groupNorm(x: B, gamma: B, beta: B, out: B, stats: B, g: GroupNormGeometry): void;
  /** The gradients of groupNorm's output (silu included when g.silu) for x, gamma and beta. */
  groupNormBackward(
    gradOut: B, x: B, gamma: B, beta: B, stats: B,
    gradInput: B, gradGamma: B, gradBeta: B, g: GroupNormGeometry,
  ): void;

  /**
   * One AdamW step of one parameter: the parameter, first and second moments after the step, in
   * buffers the backend allocates (a device backend may pack the three into one allocation).
   */
  adamw(param: B, grad: B, m: B, v: B, h: AdamWHyper): [B, B, B];
  /** out = alpha x + beta y, all of one size (the EMA update). */
  axpby(x: B, y: B, alpha: number, beta: number, out: B): void;

  /** Nearest-neighbour x2 up-sampling of [planes, h, w] into [planes, 2h, 2w]. */
  upsampleNearest2x(x: B, out: B, planes: number, h: number, w: number): void;
  /** Its adjoint: sums each 2x2 block of gradOut [planes, 2h, 2w] into [planes, h, w]. */
  upsampleNearest2xBackward(gradOut: B, gradInput: B, planes: number, h: number, w: number): void;
}
