import type { DType, TypedArray } from '../backend/backend';
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
 * A tensor: a RawTensor plus its place on the autograd tape. Op methods (add, matmul, ...) are
 * attached by src/ops/methods.ts; the functional forms live in src/ops.
 */
export class Tensor {
  /** Accumulated gradient of a leaf that requires grad, after backward(). */
  grad: Tensor | null = null;

  constructor(
    private _raw: RawTensor,
    public requiresGrad = false,
    readonly gradFn: GradNode | null = null,
  ) {}

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

  toString(): string {
    const values = this.size <= 20 ? ` ${JSON.stringify(this.toNested())}` : '';
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})${values}`;
  }
}
