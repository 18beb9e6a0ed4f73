import { apply, Fn } from '../autograd/fn';
import type { RawTensor } from '../tensor/raw';
import { contiguousStrides, formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

class UpsampleNearest2x extends Fn {
  forward(x: RawTensor): RawTensor { return x.upsample2x(); }
  backward(g: RawTensor) { return [g.upsample2xBackward()]; }
}

/** Strides that read every other row and column of a [..., H, W] buffer. */
function everyOther(shape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  return own.map((s, d) => (d >= shape.length - 2 ? 2 * s : s));
}

// PyTorch's nearest with scale 0.5 reads source index floor(2 * i): a strided copy, whose adjoint
// writes the gradient back to those positions and zero elsewhere.
class DownsampleNearest2x extends Fn {
  private inShape!: readonly number[];
  forward(x: RawTensor): RawTensor {
    this.inShape = x.shape;
    const [h, w] = x.shape.slice(-2) as [number, number];
    return x.gather([...x.shape.slice(0, -2), Math.floor(h / 2), Math.floor(w / 2)], everyOther(x.shape));
  }
  // The adjoint puts each gradient value at the top-left of its 2x2 block, zeros elsewhere:
  // [planes, h, 1, w, 1] padded to [planes, h, 2, w, 2], plus a zero row/column for odd sizes.
  backward(g: RawTensor) {
    const lead = this.inShape.slice(0, -2);
    const [h2, w2] = this.inShape.slice(-2) as [number, number];
    const [h, w] = g.shape.slice(-2) as [number, number];
    const planes = lead.reduce((a, b) => a * b, 1);
    const spread = g.reshape([planes, h, 1, w, 1]).pad([0, 0, 0, 0, 0], [0, 0, 1, 0, 1]).reshape([...lead, 2 * h, 2 * w]);
    if (2 * h === h2 && 2 * w === w2) return [spread];
    const none = lead.map(() => 0);
    return [spread.pad([...none, 0, 0], [...none, h2 - 2 * h, w2 - 2 * w])];
  }
}

export interface InterpolateOptions {
  scaleFactor: number;
  mode?: 'nearest';
}

/** F.interpolate(x, scale_factor=2 or 0.5, mode='nearest') over the last two dimensions of NCHW. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  if ((opts.mode ?? 'nearest') !== 'nearest') throw new Error(`interpolate: mode '${opts.mode}' is not supported; use 'nearest'.`);
  if (x.ndim < 3) throw new Error(`interpolate: input must be [N, C, H, W] (or at least 3-d), got ${formatShape(x.shape)}.`);
  if (opts.scaleFactor === 2) return apply(new UpsampleNearest2x(), x);
  if (opts.scaleFactor === 0.5) {
    const [h, w] = x.shape.slice(-2) as [number, number];
    if (h < 2 || w < 2) throw new Error(`interpolate: cannot halve spatial size ${h}x${w} of ${formatShape(x.shape)}.`);
    return apply(new DownsampleNearest2x(), x);
  }
  throw new Error(`interpolate: scaleFactor ${opts.scaleFactor} is not supported; use 2 or 0.5.`);
}

export const upsampleNearest2x = (x: Tensor): Tensor => interpolate(x, { scaleFactor: 2 });
export const downsampleNearest2x = (x: Tensor): Tensor => interpolate(x, { scaleFactor: 0.5 });

// The sum of each 2x2 block is the adjoint of nearest 2x up-sampling (its kernel), then / 4;
// the gradient is the up-sampled gradient / 4. The block sums in the reference's order
// (top pair, then the bottom pair), as the reduction over [.., h, 2, w, 2] adds them.
class AvgPool2x2 extends Fn {
  forward(x: RawTensor): RawTensor { return x.upsample2xBackward().mulScalar(0.25); }
  backward(g: RawTensor) { return [g.upsample2x().mulScalar(0.25)]; }
}

/** F.avg_pool2d(x, 2) over the last two dimensions (even sides): each output the mean of its 2x2 block. */
export function avgPool2x2(x: Tensor): Tensor {
  if (x.ndim < 3) throw new Error(`avgPool2x2: input must be [N, C, H, W] (or at least 3-d), got ${formatShape(x.shape)}.`);
  const [h, w] = x.shape.slice(-2) as [number, number];
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`avgPool2x2: spatial size ${h}x${w} of ${formatShape(x.shape)} must be even.`);
  return apply(new AvgPool2x2(), x);
}
