import { apply, Fn } from '../autograd/fn';
import type { Conv2dGeometry } from '../backend/backend';
import type { RawTensor } from '../tensor/raw';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/** The convolution with its bias added in the same kernel; inputs x, weight[, bias]. */
class Conv2d extends Fn {
  private x!: RawTensor;
  private w!: RawTensor;
  constructor(private readonly g: Conv2dGeometry) {
    super();
  }
  forward(x: RawTensor, w: RawTensor, bias?: RawTensor): RawTensor {
    this.x = x;
    this.w = w;
    return x.conv2d(w, bias ?? null, this.g);
  }
  backward(gy: RawTensor) {
    return [
      this.needsInputGrad[0] ? gy.conv2dGradInput(this.w, this.g) : null,
      this.needsInputGrad[1] ? this.x.conv2dGradWeight(gy, this.g) : null,
      this.needsInputGrad[2] ? gy.reduce('sum', [0, 2, 3]).reshape([this.g.cOut]) : null,
    ];
  }
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
}

const pairOf = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** 2-d cross-correlation of NCHW input with [out, in, kh, kw] weights, as PyTorch's F.conv2d. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const [strideH, strideW] = pairOf(opts.stride ?? 1);
  const [padH, padW] = pairOf(opts.padding ?? 0);
  const where = `input ${formatShape(x.shape)}, weight ${formatShape(weight.shape)}`;
  if (x.ndim !== 4) throw new Error(`conv2d: input must be NCHW (4-d), got ${where}.`);
  if (weight.ndim !== 4) throw new Error(`conv2d: weight must be [out, in, kh, kw], got ${where}.`);
  const [n, cIn, h, w] = x.shape as [number, number, number, number];
  const [cOut, wIn, kh, kw] = weight.shape as [number, number, number, number];
  if (wIn !== cIn) {
    throw new Error(`conv2d: input has ${cIn} channels but the weight expects ${wIn} (${where}).`);
  }
  if (![strideH, strideW].every((s) => Number.isInteger(s) && s >= 1) || ![padH, padW].every((p) => Number.isInteger(p) && p >= 0)) {
    throw new Error(`conv2d: stride must be integers >= 1 and padding integers >= 0, got stride ${opts.stride}, padding ${opts.padding}.`);
  }
  const outH = Math.floor((h + 2 * padH - kh) / strideH) + 1;
  const outW = Math.floor((w + 2 * padW - kw) / strideW) + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(`conv2d: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * padH}x${w + 2 * padW} (${where}).`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cOut)) {
    throw new Error(`conv2d: bias ${formatShape(bias.shape)} must be [${cOut}] for ${where}.`);
  }
  const g: Conv2dGeometry = { n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW };
  return bias ? apply(new Conv2d(g), x, weight, bias) : apply(new Conv2d(g), x, weight);
}
