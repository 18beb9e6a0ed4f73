import type {
  AdamWHyper, Backend, ConvEpilogue, BinaryOp, Conv2dGeometry, DifferentiableUnaryOp, DType, GroupNormGeometry, ReduceOp, Shape, StridedView, TypedArray, UnaryOp,
} from '../backend/backend';
import { backendFor } from '../backends';
import { claim, track } from './scope';
import {
  broadcastShapes, broadcastStrides, checkShape, contiguousStrides, formatShape, shapeSize, shapesEqual,
} from './shape';

/**
 * A shaped buffer on one backend, with no autograd: what ops' forward and backward compute on
 * (the role of tinygrad's LazyBuffer). Always contiguous row-major. `reshape` is a view sharing the
 * buffer; permute, expand, slice and pad materialise a copy; binary ops broadcast in the kernel
 * (stride 0) without materialising. Buffers are treated as immutable once an op has produced them.
 */
export class RawTensor {
  readonly size: number;

  constructor(
    readonly backend: Backend,
    readonly buffer: unknown,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {
    this.size = shapeSize(shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  static alloc(shape: Shape, dtype: DType, backend: Backend = backendFor(dtype)): RawTensor {
    checkShape('alloc', shape);
    const buffer = backend.alloc(shapeSize(shape), dtype);
    track(backend, buffer);
    return new RawTensor(backend, buffer, [...shape], dtype);
  }

  static fromArray(data: ArrayLike<number>, shape: Shape, dtype: DType, backend: Backend = backendFor(dtype)): RawTensor {
    checkShape('tensor', shape);
    if (data.length !== shapeSize(shape)) {
      throw new Error(`tensor: ${data.length} values cannot fill shape ${formatShape(shape)} (${shapeSize(shape)} elements).`);
    }
    const buffer = backend.fromArray(data, dtype);
    track(backend, buffer);
    return new RawTensor(backend, buffer, [...shape], dtype);
  }

  static full(shape: Shape, value: number, dtype: DType, backend: Backend = backendFor(dtype)): RawTensor {
    const out = RawTensor.alloc(shape, dtype, backend);
    backend.fill(out.buffer, value);
    return out;
  }

  /** A new buffer of `shape` on this tensor's backend and dtype. */
  empty(shape: Shape): RawTensor {
    return RawTensor.alloc(shape, this.dtype, this.backend);
  }

  filled(shape: Shape, value: number): RawTensor {
    return RawTensor.full(shape, value, this.dtype, this.backend);
  }

  scalar(value: number): RawTensor {
    return RawTensor.full([], value, this.dtype, this.backend);
  }

  read(): TypedArray {
    return this.backend.read(this.buffer);
  }

  private view(): StridedView<unknown> {
    return { buffer: this.buffer, offset: 0, strides: contiguousStrides(this.shape) };
  }

  private checkPeer(op: string, other: RawTensor): void {
    if (other.dtype !== this.dtype) {
      throw new Error(`${op}: dtypes ${this.dtype} and ${other.dtype} differ; convert one with .cast('${this.dtype}').`);
    }
    if (other.backend !== this.backend) {
      throw new Error(`${op}: operands live on different backends (${this.backend.name} and ${other.backend.name}); move one first.`);
    }
  }

  // ---- elementwise ----

  cast(dtype: DType): RawTensor {
    if (dtype === this.dtype) return this;
    const target = backendFor(dtype);
    if (target === this.backend) {
      const buffer = this.backend.cast(this.buffer, dtype);
      track(target, buffer);
      return new RawTensor(target, buffer, this.shape, dtype);
    }
    return RawTensor.fromArray(this.read(), this.shape, dtype, target);
  }

  unary(op: UnaryOp): RawTensor {
    const out = this.empty(this.shape);
    this.backend.unary(op, this.buffer, out.buffer);
    return out;
  }

  /** grad * f'(this) for the unary op f; grad has this tensor's shape. */
  unaryGrad(op: DifferentiableUnaryOp, grad: RawTensor): RawTensor {
    this.checkPeer(op, grad);
    const out = this.empty(this.shape);
    this.backend.unaryGrad(op, this.buffer, grad.buffer, out.buffer);
    return out;
  }

  binary(op: BinaryOp, other: RawTensor, opName: string = op): RawTensor {
    this.checkPeer(opName, other);
    const outShape = broadcastShapes(opName, this.shape, other.shape);
    const out = this.empty(outShape);
    this.backend.binary(
      op,
      { buffer: this.buffer, offset: 0, strides: broadcastStrides(this.shape, outShape) },
      { buffer: other.buffer, offset: 0, strides: broadcastStrides(other.shape, outShape) },
      outShape,
      out.buffer,
    );
    return out;
  }

  add(o: RawTensor): RawTensor { return this.binary('add', o); }
  sub(o: RawTensor): RawTensor { return this.binary('sub', o); }
  mul(o: RawTensor): RawTensor { return this.binary('mul', o); }
  div(o: RawTensor): RawTensor { return this.binary('div', o); }
  neg(): RawTensor { return this.unary('neg'); }
  mulScalar(v: number): RawTensor { return this.binary('mul', this.scalar(v)); }
  addScalar(v: number): RawTensor { return this.binary('add', this.scalar(v)); }

  static where(cond: RawTensor, a: RawTensor, b: RawTensor, opName = 'where'): RawTensor {
    a.checkPeer(opName, b);
    if (cond.backend !== a.backend) throw new Error(`${opName}: the condition lives on a different backend.`);
    const c = cond.dtype === a.dtype ? cond : cond.cast(a.dtype);
    const outShape = broadcastShapes(opName, c.shape, a.shape, b.shape);
    const out = a.empty(outShape);
    const v = (t: RawTensor): StridedView<unknown> => ({ buffer: t.buffer, offset: 0, strides: broadcastStrides(t.shape, outShape) });
    a.backend.where(v(c), v(a), v(b), outShape, out.buffer);
    return out;
  }

  /** One AdamW step of the parameter `this` with gradient g and moments m, v: [p', m', v'], new buffers. */
  adamw(g: RawTensor, m: RawTensor, v: RawTensor, h: AdamWHyper): [RawTensor, RawTensor, RawTensor] {
    for (const o of [g, m, v]) {
      this.checkPeer('adamw', o);
      if (!shapesEqual(o.shape, this.shape)) throw new Error(`adamw: shapes ${formatShape(this.shape)} and ${formatShape(o.shape)} differ.`);
    }
    return this.backend.adamw(this.buffer, g.buffer, m.buffer, v.buffer, h).map((buffer) => {
      track(this.backend, buffer);
      return new RawTensor(this.backend, buffer, this.shape, this.dtype);
    }) as [RawTensor, RawTensor, RawTensor];
  }

  /** alpha this + beta y in one pass (y of the same shape). */
  axpby(alpha: number, y: RawTensor, beta: number): RawTensor {
    this.checkPeer('axpby', y);
    if (!shapesEqual(y.shape, this.shape)) throw new Error(`axpby: shapes ${formatShape(this.shape)} and ${formatShape(y.shape)} differ.`);
    const out = this.empty(this.shape);
    this.backend.axpby(this.buffer, y.buffer, alpha, beta, out.buffer);
    return out;
  }

  // ---- reductions ----

  /** Reduces over sorted, normalised `axes`; the result keeps those axes with size 1. */
  reduce(op: ReduceOp, axes: readonly number[]): RawTensor {
    const out = this.empty(this.shape.map((s, d) => (axes.includes(d) ? 1 : s)));
    if (this.size === 0 && op === 'max') throw new Error('max: cannot reduce an empty tensor.');
    this.backend.reduce(op, this.buffer, this.shape, axes, out.buffer);
    return out;
  }

  /** Softmax over the last axis. */
  softmaxLast(): RawTensor {
    const cols = this.shape[this.ndim - 1] ?? 1, out = this.empty(this.shape);
    if (this.size > 0) this.backend.softmax(this.buffer, out.buffer, this.size / cols, cols);
    return out;
  }

  /** The gradient of softmax over the last axis at its output `this`, given the output's gradient. */
  softmaxLastBackward(grad: RawTensor): RawTensor {
    this.checkPeer('softmax', grad);
    const cols = this.shape[this.ndim - 1] ?? 1, out = this.empty(this.shape);
    if (this.size > 0) this.backend.softmaxBackward(this.buffer, grad.buffer, out.buffer, this.size / cols, cols);
    return out;
  }

  /** Sums a broadcast result back to `shape` (the adjoint of broadcasting). */
  sumTo(shape: Shape): RawTensor {
    if (shapesEqual(this.shape, shape)) return this;
    const lead = this.ndim - shape.length;
    const axes: number[] = [];
    for (let d = 0; d < this.ndim; d++) {
      const target = d < lead ? 1 : shape[d - lead]!;
      if (d < lead || (target === 1 && this.shape[d] !== 1)) axes.push(d);
      else if (target !== this.shape[d]) {
        throw new Error(`sumTo: gradient of shape ${formatShape(this.shape)} cannot be reduced to ${formatShape(shape)}.`);
      }
    }
    return this.reduce('sum', axes).reshape(shape);
  }

  // ---- movement ----

  reshape(shape: Shape): RawTensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(`reshape: cannot view shape ${formatShape(this.shape)} (${this.size} elements) as ${formatShape(shape)}.`);
    }
    return new RawTensor(this.backend, this.buffer, [...shape], this.dtype);
  }

  /** Materialises a strided view of this buffer as a new contiguous tensor of `shape`. */
  gather(shape: Shape, strides: readonly number[], offset = 0): RawTensor {
    const out = this.empty(shape);
    this.backend.copy({ buffer: this.buffer, offset, strides }, shape, { buffer: out.buffer, offset: 0, strides: contiguousStrides(shape) });
    return out;
  }

  /** A contiguous copy in a buffer of its own. */
  copy(): RawTensor {
    return this.gather(this.shape, contiguousStrides(this.shape));
  }

  /**
   * This tensor as the long-lived state of one holder (a parameter, a gradient, a moment; see
   * scope.ts's claim): itself, or a copy when another holder already owns the buffer.
   */
  owned(): RawTensor {
    if (claim(this.buffer)) return this;
    const copy = this.copy();
    claim(copy.buffer);
    return copy;
  }

  /** Writes `src` (contiguous) into the strided view (offset, strides) of this buffer, in place. */
  scatterInto(src: RawTensor, strides: readonly number[], offset = 0): void {
    this.backend.copy(src.view(), src.shape, { buffer: this.buffer, offset, strides });
  }

  permute(order: readonly number[]): RawTensor {
    const own = contiguousStrides(this.shape);
    return this.gather(order.map((d) => this.shape[d]!), order.map((d) => own[d]!));
  }

  expand(shape: Shape): RawTensor {
    if (shapesEqual(shape, this.shape)) return this;
    return this.gather(shape, broadcastStrides(this.shape, shape));
  }

  /** Half-open ranges per dimension, already validated. */
  slice(starts: readonly number[], ends: readonly number[]): RawTensor {
    const own = contiguousStrides(this.shape);
    const offset = starts.reduce((acc, s, d) => acc + s * own[d]!, 0);
    return this.gather(ends.map((e, d) => e - starts[d]!), own, offset);
  }

  /** Pads each dimension d with before[d] / after[d] copies of `value`. */
  pad(before: readonly number[], after: readonly number[], value = 0): RawTensor {
    const outShape = this.shape.map((s, d) => s + before[d]! + after[d]!);
    const out = this.filled(outShape, value);
    const strides = contiguousStrides(outShape);
    out.scatterInto(this, strides, before.reduce((acc, b, d) => acc + b * strides[d]!, 0));
    return out;
  }

  static concat(parts: readonly RawTensor[], axis: number): RawTensor {
    const first = parts[0]!;
    const outShape = [...first.shape];
    outShape[axis] = parts.reduce((acc, p) => acc + p.shape[axis]!, 0);
    const out = first.empty(outShape);
    if (parts.length === 2) {
      const second = parts[1]!;
      first.checkPeer('concat', second);
      const outer = shapeSize(outShape.slice(0, axis)), inner = shapeSize(outShape.slice(axis + 1));
      first.backend.concat(first.buffer, second.buffer, out.buffer, outer, first.shape[axis]!, second.shape[axis]!, inner);
      return out;
    }
    const strides = contiguousStrides(outShape);
    let start = 0;
    for (const p of parts) {
      first.checkPeer('concat', p);
      out.scatterInto(p, strides, start * strides[axis]!);
      start += p.shape[axis]!;
    }
    return out;
  }

  // ---- fat ops ----

  /** [Ba, M, K] @ [Bb, K, N] (or [Bb, N, K] read transposed) -> [B, M, N]; Ba, Bb are B or 1. */
  matmul3d(b: RawTensor, transA: boolean, transB: boolean, bias: RawTensor | null = null): RawTensor {
    this.checkPeer('matmul', b);
    const [ba, ar, ac] = this.shape as [number, number, number];
    const [bb, br, bc] = b.shape as [number, number, number];
    const m = transA ? ac : ar, k = transA ? ar : ac;
    const n = transB ? br : bc;
    const batch = Math.max(ba, bb);
    const out = this.empty([batch, m, n]);
    this.backend.matmul(this.buffer, b.buffer, out.buffer, {
      batch, m, k, n, transA, transB,
      aBatchStride: ba === 1 ? 0 : ar * ac,
      bBatchStride: bb === 1 ? 0 : br * bc,
    }, bias?.buffer ?? null);
    return out;
  }

  conv2d(weight: RawTensor, bias: RawTensor | null, g: Conv2dGeometry, epilogue?: ConvEpilogue<RawTensor>): RawTensor {
    const out = this.empty([g.n, g.cOut, g.outH, g.outW]);
    const b = (t: RawTensor | null): unknown => t?.buffer ?? null;
    const e = epilogue && {
      residual: b(epilogue.residual), convScale: b(epilogue.convScale), residualScale: b(epilogue.residualScale), channelAdd: b(epilogue.channelAdd),
    };
    this.backend.conv2d(this.buffer, weight.buffer, bias?.buffer ?? null, out.buffer, g, e);
    return out;
  }

  conv2dGradInput(weight: RawTensor, g: Conv2dGeometry): RawTensor {
    const out = this.empty([g.n, g.cIn, g.h, g.w]);
    this.backend.conv2dGradInput(this.buffer, weight.buffer, out.buffer, g);
    return out;
  }

  conv2dGradWeight(gradOut: RawTensor, g: Conv2dGeometry): RawTensor {
    const out = this.empty([g.cOut, g.cIn, g.kh, g.kw]);
    this.backend.conv2dGradWeight(this.buffer, gradOut.buffer, out.buffer, g);
    return out;
  }

  /** Group norm (silu after it when g.silu) and its statistics [2, n, groups]: means, then rstds. */
  groupNorm(gamma: RawTensor, beta: RawTensor, g: GroupNormGeometry): { out: RawTensor; stats: RawTensor } {
    const out = this.empty(this.shape);
    const stats = this.empty([2, g.n, g.groups]);
    this.backend.groupNorm(this.buffer, gamma.buffer, beta.buffer, out.buffer, stats.buffer, g);
    return { out, stats };
  }

  static groupNormBackward(
    gradOut: RawTensor, x: RawTensor, gamma: RawTensor, beta: RawTensor, stats: RawTensor, g: GroupNormGeometry,
  ): [RawTensor, RawTensor, RawTensor] {
    const gx = x.empty(x.shape), gGamma = x.empty([g.c]), gBeta = x.empty([g.c]);
    x.backend.groupNormBackward(
      gradOut.buffer, x.buffer, gamma.buffer, beta.buffer, stats.buffer, gx.buffer, gGamma.buffer, gBeta.buffer, g,
    );
    return [gx, gGamma, gBeta];
  }

  /** Nearest x2 over the last two dimensions. */
  upsample2x(): RawTensor {
    const [h, w] = this.shape.slice(-2) as [number, number];
    const out = this.empty([...this.shape.slice(0, -2), 2 * h, 2 * w]);
    this.backend.upsampleNearest2x(this.buffer, out.buffer, this.size / (h * w), h, w);
    return out;
  }

  /** The adjoint of upsample2x: this is the [.., 2h, 2w] gradient. */
  upsample2xBackward(): RawTensor {
    const [h2, w2] = this.shape.slice(-2) as [number, number];
    const h = h2 / 2, w = w2 / 2;
    const out = this.empty([...this.shape.slice(0, -2), h, w]);
    this.backend.upsampleNearest2xBackward(this.buffer, out.buffer, out.size / (h * w), h, w);
    return out;
  }
}
