import { apply, Fn } from '../autograd/fn';
import type { RawTensor } from '../tensor/raw';
import { normalizeAxes, shapeSize } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { div, mul, sub } from './elementwise';

export type Axes = number | readonly number[];

function outShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((s, d) => (axes.includes(d) ? 1 : s)) : shape.filter((_, d) => !axes.includes(d));
}

class Sum extends Fn {
  private inShape!: readonly number[];
  constructor(private readonly axes: readonly number[], private readonly keepdim: boolean) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.inShape = x.shape;
    return x.reduce('sum', this.axes).reshape(outShape(x.shape, this.axes, this.keepdim));
  }
  backward(g: RawTensor) {
    return [g.reshape(outShape(this.inShape, this.axes, true)).expand(this.inShape)];
  }
}

// As PyTorch's amax: tied maxima share the gradient equally.
class Max extends Fn {
  private x!: RawTensor;
  private kept!: RawTensor;
  constructor(private readonly axes: readonly number[], private readonly keepdim: boolean) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.x = x;
    this.kept = x.reduce('max', this.axes);
    return this.kept.reshape(outShape(x.shape, this.axes, this.keepdim));
  }
  backward(g: RawTensor) {
    const mask = this.x.binary('eq', this.kept);
    const count = mask.reduce('sum', this.axes);
    return [mask.mul(g.reshape(this.kept.shape).div(count))];
  }
}

export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return apply(new Sum(normalizeAxes('sum', axes, x.ndim), keepdim), x);
}

export function max(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  if (x.size === 0) throw new Error('max: cannot reduce an empty tensor.');
  return apply(new Max(normalizeAxes('max', axes, x.ndim), keepdim), x);
}

export function min(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return max(x.neg(), axes, keepdim).neg();
}

function reducedCount(x: Tensor, axes: readonly number[]): number {
  return shapeSize(axes.map((d) => x.shape[d]!));
}

export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  const list = normalizeAxes('mean', axes, x.ndim);
  return div(sum(x, list, keepdim), reducedCount(x, list));
}

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, axes?: Axes, keepdim = false, correction = 1): Tensor {
  const list = normalizeAxes('var', axes, x.ndim);
  const n = reducedCount(x, list);
  if (n - correction <= 0) {
    throw new Error(`var: ${n} element(s) per reduction with correction ${correction} leaves no degrees of freedom; use correction 0 or reduce over more elements.`);
  }
  const centered = sub(x, mean(x, list, true));
  return div(sum(mul(centered, centered), list, keepdim), n - correction);
}

