import { apply, Fn } from '../autograd/fn';
import type { RawTensor } from '../tensor/raw';
import { normalizeAxis } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

// Both shift by the maximum first, so large logits do not overflow.

class Softmax extends Fn {
  private out!: RawTensor;
  constructor(private readonly axis: number) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    const e = x.sub(x.reduce('max', [this.axis])).unary('exp');
    this.out = e.div(e.reduce('sum', [this.axis]));
    return this.out;
  }
  // dx = y * (g - sum(g * y))
  backward(g: RawTensor) {
    return [this.out.mul(g.sub(g.mul(this.out).reduce('sum', [this.axis])))];
  }
}

class LogSoftmax extends Fn {
  private out!: RawTensor;
  constructor(private readonly axis: number) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    const shifted = x.sub(x.reduce('max', [this.axis]));
    this.out = shifted.sub(shifted.unary('exp').reduce('sum', [this.axis]).unary('log'));
    return this.out;
  }
  // dx = g - softmax * sum(g)
  backward(g: RawTensor) {
    return [g.sub(this.out.unary('exp').mul(g.reduce('sum', [this.axis])))];
  }
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(new Softmax(normalizeAxis('softmax', axis, x.ndim)), x);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return apply(new LogSoftmax(normalizeAxis('logSoftmax', axis, x.ndim)), x);
}
