// Chainable methods on Tensor (x.add(y).relu().sum()), each the functional op of the same name.
import { backward } from '../autograd/backward';
import type { DType } from '../backend/backend';
import { Tensor } from '../tensor/tensor';
import * as ew from './elementwise';
import type { TensorLike } from './elementwise';
import { conv2d, type Conv2dOptions } from './conv';
import { linear, matmul } from './matmul';
import * as mv from './movement';
import { groupNorm } from './norm';
import * as rd from './reduce';
import type { Axes } from './reduce';
import { interpolate, type InterpolateOptions } from './resample';
import { logSoftmax, softmax } from './softmax';

declare module '../tensor/tensor' {
  interface Tensor {
    backward(gradient?: Tensor): void;
    add(other: TensorLike): Tensor;
    sub(other: TensorLike): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(exponent: TensorLike): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor;
    gt(other: TensorLike): Tensor;
    ge(other: TensorLike): Tensor;
    eq(other: TensorLike): Tensor;
    ne(other: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    sqrt(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    silu(): Tensor;
    relu(): Tensor;
    abs(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    cast(dtype: DType): Tensor;
    sum(axes?: Axes, keepdim?: boolean): Tensor;
    mean(axes?: Axes, keepdim?: boolean): Tensor;
    max(axes?: Axes, keepdim?: boolean): Tensor;
    min(axes?: Axes, keepdim?: boolean): Tensor;
    var(axes?: Axes, keepdim?: boolean, correction?: number): Tensor;
    reshape(shape: readonly number[]): Tensor;
    flatten(startAxis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    squeeze(axis?: number): Tensor;
    permute(order: readonly number[]): Tensor;
    transpose(axis0?: number, axis1?: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    slice(starts: readonly number[], ends?: readonly (number | undefined)[]): Tensor;
    pad(padding: readonly (readonly [number, number])[], value?: number): Tensor;
    matmul(other: Tensor): Tensor;
    linear(weight: Tensor, bias?: Tensor): Tensor;
    conv2d(weight: Tensor, bias?: Tensor, opts?: Conv2dOptions): Tensor;
    groupNorm(groups: number, weight?: Tensor, bias?: Tensor, eps?: number): Tensor;
    interpolate(opts: InterpolateOptions): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
  }
}

const methods: { [K in keyof Tensor]?: (this: Tensor, ...args: never[]) => unknown } = {
  backward(gradient?: Tensor) { backward(this, gradient); },
  add(o: TensorLike) { return ew.add(this, o); },
  sub(o: TensorLike) { return ew.sub(this, o); },
  mul(o: TensorLike) { return ew.mul(this, o); },
  div(o: TensorLike) { return ew.div(this, o); },
  pow(o: TensorLike) { return ew.pow(this, o); },
  maximum(o: TensorLike) { return ew.maximum(this, o); },
  minimum(o: TensorLike) { return ew.minimum(this, o); },
  lt(o: TensorLike) { return ew.lt(this, o); },
  le(o: TensorLike) { return ew.le(this, o); },
  gt(o: TensorLike) { return ew.gt(this, o); },
  ge(o: TensorLike) { return ew.ge(this, o); },
  eq(o: TensorLike) { return ew.eq(this, o); },
  ne(o: TensorLike) { return ew.ne(this, o); },
  neg() { return ew.neg(this); },
  exp() { return ew.exp(this); },
  log() { return ew.log(this); },
  sin() { return ew.sin(this); },
  cos() { return ew.cos(this); },
  sqrt() { return ew.sqrt(this); },
  tanh() { return ew.tanh(this); },
  sigmoid() { return ew.sigmoid(this); },
  silu() { return ew.silu(this); },
  relu() { return ew.relu(this); },
  abs() { return ew.abs(this); },
  square() { return ew.square(this); },
  reciprocal() { return ew.reciprocal(this); },
  clamp(min?: number, max?: number) { return ew.clamp(this, min, max); },
  cast(dtype: DType) { return ew.cast(this, dtype); },
  sum(axes?: Axes, keepdim?: boolean) { return rd.sum(this, axes, keepdim); },
  mean(axes?: Axes, keepdim?: boolean) { return rd.mean(this, axes, keepdim); },
  max(axes?: Axes, keepdim?: boolean) { return rd.max(this, axes, keepdim); },
  min(axes?: Axes, keepdim?: boolean) { return rd.min(this, axes, keepdim); },
  var(axes?: Axes, keepdim?: boolean, correction?: number) { return rd.variance(this, axes, keepdim, correction); },
  reshape(shape: readonly number[]) { return mv.reshape(this, shape); },
  flatten(startAxis?: number) { return mv.flatten(this, startAxis); },
  unsqueeze(axis: number) { return mv.unsqueeze(this, axis); },
  squeeze(axis?: number) { return mv.squeeze(this, axis); },
  permute(order: readonly number[]) { return mv.permute(this, order); },
  transpose(a?: number, b?: number) { return mv.transpose(this, a, b); },
  expand(shape: readonly number[]) { return mv.expand(this, shape); },
  slice(starts: readonly number[], ends?: readonly (number | undefined)[]) { return mv.slice(this, starts, ends); },
  pad(padding: readonly (readonly [number, number])[], value?: number) { return mv.pad(this, padding, value); },
  matmul(o: Tensor) { return matmul(this, o); },
  linear(w: Tensor, b?: Tensor) { return linear(this, w, b); },
  conv2d(w: Tensor, b?: Tensor, opts?: Conv2dOptions) { return conv2d(this, w, b, opts); },
  groupNorm(groups: number, w?: Tensor, b?: Tensor, eps?: number) { return groupNorm(this, groups, w, b, eps); },
  interpolate(opts: InterpolateOptions) { return interpolate(this, opts); },
  softmax(axis?: number) { return softmax(this, axis); },
  logSoftmax(axis?: number) { return logSoftmax(this, axis); },
};

Object.assign(Tensor.prototype, methods);
