// Tensor imports the functional ops as values for its methods; the ops import Tensor only as a
// type and make result tensors with wrap() on an input, so the import graph has no cycle
// (test/imports.test.ts checks).
import { backward } from '../autograd/backward';
import type { DType, TypedArray } from '../backend/backend';
import { conv2d, type Conv2dOptions } from '../ops/conv';
import * as ew from '../ops/elementwise';
import type { TensorLike } from '../ops/elementwise';
import { linear, matmul } from '../ops/matmul';
import * as mv from '../ops/movement';
import { groupNorm } from '../ops/norm';
import * as rd from '../ops/reduce';
import type { Axes } from '../ops/reduce';
import { interpolate, type InterpolateOptions } from '../ops/resample';
import { logSoftmax, softmax } from '../ops/softmax';
import type { RawTensor } from './raw';
import { release } from './scope';
import { formatShape } from './shape';

/** What the autograd tape records for a tensor produced by an op (implemented by autograd's Fn). */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  backward(grad: RawTensor): (RawTensor | null)[];
}

/**
 * A tensor: a RawTensor plus its place on the autograd tape. The op methods (add, matmul, ...) are
 * the functional ops of src/ops of the same name, with this tensor as the first argument.
 */
export class Tensor {
  /** Accumulated gradient of a leaf that requires grad, after backward(). */
  grad: Tensor | null = null;

  constructor(
    private _raw: RawTensor,
    public requiresGrad = false,
    readonly gradFn: GradNode | null = null,
  ) {}

  /**
   * A new tensor of `raw` (with its place on the tape). The ops make their results with it on an
   * input tensor, so that they need not import Tensor as a value (see the note at the top).
   */
  wrap(raw: RawTensor, requiresGrad = false, gradFn: GradNode | null = null): Tensor {
    return new Tensor(raw, requiresGrad, gradFn);
  }

  /** The values: a backend buffer with its shape and dtype. */
  get raw(): RawTensor {
    return this._raw;
  }

  get shape(): readonly number[] {
    return this._raw.shape;
  }

  get dtype(): DType {
    return this.raw.dtype;
  }

  get size(): number {
    return this.raw.size;
  }

  get ndim(): number {
    return this.raw.shape.length;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** A flat host copy of the values, row-major. */
  toArray(): TypedArray {
    return this.raw.read();
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new Error(`item: tensor of shape ${formatShape(this.shape)} has ${this.size} elements; item() needs exactly one (reduce it first, e.g. .sum()).`);
    }
    return this.raw.read()[0]!;
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  toNested(): unknown {
    const flat = Array.from(this.toArray());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.ndim) return flat[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** The same values, cut from the tape: no gradient flows through the result. */
  detach(): Tensor {
    return new Tensor(this.raw, false, null);
  }

  /** Marks a leaf as a parameter whose gradient backward() accumulates. */
  setRequiresGrad(flag = true): this {
    if (!this.isLeaf) {
      throw new Error(`setRequiresGrad: only leaf tensors can change requiresGrad; this one comes from ${this.gradFn!.name}. Use .detach() first.`);
    }
    this.requiresGrad = flag;
    return this;
  }

  zeroGrad(): void {
    if (this.grad) release(this.grad.raw.backend, this.grad.raw.buffer);
    this.grad = null;
  }

  /** Sets a leaf's gradient (backward's accumulation): long-lived state, like the values. */
  setGrad(grad: RawTensor): void {
    if (this.grad && this.grad.raw.buffer === grad.buffer) return;
    if (this.grad) release(this.grad.raw.backend, this.grad.raw.buffer);
    this.grad = new Tensor(grad.owned());
  }

  /** Frees this tensor's buffer now (device memory on gpu.js backends); the tensor is unusable after. */
  dispose(): void {
    this._raw.backend.dispose(this._raw.buffer);
  }

  /**
   * Replaces a leaf's values in place (optimiser steps, EMA updates, loading weights); the tape of
   * earlier steps keeps the buffers it saved. Shape and dtype must stay the same.
   */
  assign(values: RawTensor): this {
    if (!this.isLeaf) throw new Error(`assign: only leaf tensors can be updated in place; this one comes from ${this.gradFn!.name}.`);
    if (values.dtype !== this.dtype || values.shape.length !== this.ndim || values.shape.some((s, i) => s !== this.shape[i])) {
      throw new Error(`assign: values of shape ${formatShape(values.shape)} (${values.dtype}) cannot replace a tensor of shape ${formatShape(this.shape)} (${this.dtype}).`);
    }
    if (values.buffer === this._raw.buffer) return this;
    release(this._raw.backend, this._raw.buffer);
    this._raw = values.owned();
    return this;
  }

  /** Converts a leaf's values to another dtype in place (e.g. a model to float64 for gradient checks). */
  castInPlace(dtype: DType): this {
    if (!this.isLeaf) throw new Error(`castInPlace: only leaf tensors can change dtype; this one comes from ${this.gradFn!.name}.`);
    const cast = this._raw.cast(dtype);
    if (cast.buffer !== this._raw.buffer) {
      release(this._raw.backend, this._raw.buffer);
      this._raw = cast.owned();
    }
    this.zeroGrad();
    return this;
  }

  // ---- ops as methods: each is the functional op of the same name (src/ops) ----

  /** Accumulates d(this)/d(leaf) into the .grad of every leaf that requires grad (autograd/backward). */
  backward(gradient?: Tensor): void { backward(this, gradient); }

  add(other: TensorLike): Tensor { return ew.add(this, other); }
  sub(other: TensorLike): Tensor { return ew.sub(this, other); }
  mul(other: TensorLike): Tensor { return ew.mul(this, other); }
  div(other: TensorLike): Tensor { return ew.div(this, other); }
  pow(exponent: TensorLike): Tensor { return ew.pow(this, exponent); }
  maximum(other: TensorLike): Tensor { return ew.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return ew.minimum(this, other); }
  lt(other: TensorLike): Tensor { return ew.lt(this, other); }
  le(other: TensorLike): Tensor { return ew.le(this, other); }
  gt(other: TensorLike): Tensor { return ew.gt(this, other); }
  ge(other: TensorLike): Tensor { return ew.ge(this, other); }
  eq(other: TensorLike): Tensor { return ew.eq(this, other); }
  ne(other: TensorLike): Tensor { return ew.ne(this, other); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sin(): Tensor { return ew.sin(this); }
  cos(): Tensor { return ew.cos(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  silu(): Tensor { return ew.silu(this); }
  relu(): Tensor { return ew.relu(this); }
  abs(): Tensor { return ew.abs(this); }
  square(): Tensor { return ew.square(this); }
  reciprocal(): Tensor { return ew.reciprocal(this); }
  clamp(min?: number, max?: number): Tensor { return ew.clamp(this, min, max); }
  cast(dtype: DType): Tensor { return ew.cast(this, dtype); }
  sum(axes?: Axes, keepdim?: boolean): Tensor { return rd.sum(this, axes, keepdim); }
  mean(axes?: Axes, keepdim?: boolean): Tensor { return rd.mean(this, axes, keepdim); }
  max(axes?: Axes, keepdim?: boolean): Tensor { return rd.max(this, axes, keepdim); }
  min(axes?: Axes, keepdim?: boolean): Tensor { return rd.min(this, axes, keepdim); }
  /** Variance (rd.variance; `var` as in PyTorch). */
  var(axes?: Axes, keepdim?: boolean, correction?: number): Tensor { return rd.variance(this, axes, keepdim, correction); }
  reshape(shape: readonly number[]): Tensor { return mv.reshape(this, shape); }
  flatten(startAxis?: number): Tensor { return mv.flatten(this, startAxis); }
  unsqueeze(axis: number): Tensor { return mv.unsqueeze(this, axis); }
  squeeze(axis?: number): Tensor { return mv.squeeze(this, axis); }
  permute(order: readonly number[]): Tensor { return mv.permute(this, order); }
  transpose(axis0?: number, axis1?: number): Tensor { return mv.transpose(this, axis0, axis1); }
  expand(shape: readonly number[]): Tensor { return mv.expand(this, shape); }
  slice(starts: readonly number[], ends?: readonly (number | undefined)[]): Tensor { return mv.slice(this, starts, ends); }
  pad(padding: readonly (readonly [number, number])[], value?: number): Tensor { return mv.pad(this, padding, value); }
  matmul(other: Tensor): Tensor { return matmul(this, other); }
  linear(weight: Tensor, bias?: Tensor): Tensor { return linear(this, weight, bias); }
  conv2d(weight: Tensor, bias?: Tensor, opts?: Conv2dOptions): Tensor { return conv2d(this, weight, bias, opts); }
  groupNorm(groups: number, weight?: Tensor, bias?: Tensor, eps?: number): Tensor { return groupNorm(this, groups, weight, bias, eps); }
  interpolate(opts: InterpolateOptions): Tensor { return interpolate(this, opts); }
  softmax(axis?: number): Tensor { return softmax(this, axis); }
  logSoftmax(axis?: number): Tensor { return logSoftmax(this, axis); }

  toString(): string {
    const values = this.size <= 20 ? ` ${JSON.stringify(this.toNested())}` : '';
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})${values}`;
  }
}
