import { apply, Fn } from '../autograd/fn';
import type { Conv2dGeometry } from '../backend/backend';
import type { RawTensor } from '../tensor/raw';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/**
 * The convolution with its bias and epilogue (Conv2dOptions) in the same kernel. Inputs: x,
 * weight, then those of bias, residual, convScale, residualScale that are present.
 */
type ConvInput = 'bias' | 'residual' | 'convScale' | 'residualScale' | 'channelAdd';

class Conv2d extends Fn {
  private x!: RawTensor;
  private w!: RawTensor;
  private convScale: RawTensor | null = null;
  private residualScale: RawTensor | null = null;
  constructor(private readonly g: Conv2dGeometry, private readonly present: readonly ConvInput[]) {
    super();
  }
  forward(x: RawTensor, w: RawTensor, ...rest: RawTensor[]): RawTensor {
    this.x = x;
    this.w = w;
    const get = (name: (typeof this.present)[number]): RawTensor | null => {
      const at = this.present.indexOf(name);
      return at < 0 ? null : rest[at]!;
    };
    this.convScale = get('convScale');
    this.residualScale = get('residualScale');
    const fused = get('residual') || this.convScale || get('channelAdd');
    const epilogue = fused ? { residual: get('residual'), convScale: this.convScale, residualScale: this.residualScale, channelAdd: get('channelAdd') } : undefined;
    return x.conv2d(w, get('bias'), this.g, epilogue);
  }
  backward(gy: RawTensor) {
    const perImage = (s: RawTensor): RawTensor => s.reshape([this.g.n, 1, 1, 1]);
    const gConv = this.convScale ? gy.mul(perImage(this.convScale)) : gy;
    const grads: (RawTensor | null)[] = [
      this.needsInputGrad[0] ? gConv.conv2dGradInput(this.w, this.g) : null,
      this.needsInputGrad[1] ? this.x.conv2dGradWeight(gConv, this.g) : null,
    ];
    this.present.forEach((name, i) => {
      if (!this.needsInputGrad[2 + i]) grads.push(null);
      else if (name === 'bias') grads.push(gConv.reduce('sum', [0, 2, 3]).reshape([this.g.cOut]));
      else if (name === 'residual') grads.push(this.residualScale ? gy.mul(perImage(this.residualScale)) : gy);
      else if (name === 'channelAdd') grads.push(gy.reduce('sum', [2, 3]).reshape([this.g.n, this.g.cOut]));
      else grads.push(null); // scales are checked not to need one
    });
    return grads;
  }
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  /**
   * Fused into the kernel: out = convScale[b] (conv + bias) + residualScale[b] residual (+ channelAdd), with
   * residual of the output's shape and the scales [N] (one per image, without gradients: noise
   * level coefficients, say). Each is optional.
   */
  residual?: Tensor;
  convScale?: Tensor;
  residualScale?: Tensor;
  /** [N, C_out], added per image and channel after the rest (a time embedding). */
  channelAdd?: Tensor;
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
  if (opts.residual && !(opts.residual.ndim === 4 && [n, cOut, outH, outW].every((d, i) => opts.residual!.shape[i] === d))) {
    throw new Error(`conv2d: residual ${formatShape(opts.residual.shape)} must have the output's shape [${n}, ${cOut}, ${outH}, ${outW}] (${where}).`);
  }
  for (const [name, s] of [['convScale', opts.convScale], ['residualScale', opts.residualScale]] as const) {
    if (!s) continue;
    if (s.ndim !== 1 || s.shape[0] !== n) throw new Error(`conv2d: ${name} ${formatShape(s.shape)} must be [${n}], one number per image (${where}).`);
    if (s.requiresGrad) throw new Error(`conv2d: ${name} must not require a gradient (detach it, or scale outside the convolution).`);
  }
  if (opts.residualScale && !opts.residual) throw new Error('conv2d: residualScale without a residual.');
  if (opts.channelAdd && !(opts.channelAdd.ndim === 2 && opts.channelAdd.shape[0] === n && opts.channelAdd.shape[1] === cOut)) {
    throw new Error(`conv2d: channelAdd ${formatShape(opts.channelAdd.shape)} must be [${n}, ${cOut}] (${where}).`);
  }
  const inputs = { bias, residual: opts.residual, convScale: opts.convScale, residualScale: opts.residualScale, channelAdd: opts.channelAdd };
  const present = (['bias', 'residual', 'convScale', 'residualScale', 'channelAdd'] as const).filter((k) => inputs[k]);
  return apply(new Conv2d(g, present), x, weight, ...present.map((k) => inputs[k]!));
}
