import { apply, Fn } from '../autograd/fn';
import type { RawTensor } from '../tensor/raw';
import { normalizeAxis } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

// Both shift by the maximum first, so large logits do not overflow. Softmax over the last axis is
// one backend primitive each way (Backend.softmax, softmaxBackward); over another axis it is
// composed of reductions and element-wise ops.

class Softmax extends Fn {
  private out!: RawTensor;
  constructor(private readonly axis: number) {
    super();
  }
  private last(x: RawTensor): boolean {
    return this.axis === x.ndim - 1;
  }
  forward(x: RawTensor): RawTensor {
    if (this.last(x)) return (this.out = x.softmaxLast());
    const e = x.sub(x.reduce('max', [this.axis])).unary('exp');
    this.out = e.div(e.reduce('sum', [this.axis]));
    return this.out;
  }
  // dx = y * (g - sum(g * y))
  backward(g: RawTensor) {
    if (this.last(g)) return [this.out.softmaxLastBackward(g)];
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
