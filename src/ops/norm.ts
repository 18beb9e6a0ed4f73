import { apply, Fn } from '../autograd/fn';
import type { GroupNormGeometry } from '../backend/backend';
import { RawTensor } from '../tensor/raw';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/** Group norm, and with g.silu the SiLU after it in the same kernels (forward and backward). */
class GroupNorm extends Fn {
  private x!: RawTensor;
  private gamma!: RawTensor;
  private beta!: RawTensor;
  private stats!: RawTensor;
  constructor(private readonly g: GroupNormGeometry) {
    super();
  }
  override get name(): string {
    return this.g.silu ? 'GroupNormSiLU' : 'GroupNorm';
  }
  forward(x: RawTensor, gamma: RawTensor, beta: RawTensor): RawTensor {
    this.x = x;
    this.gamma = gamma;
    this.beta = beta;
    const { out, stats } = x.groupNorm(gamma, beta, this.g);
    this.stats = stats;
    return out;
  }
  backward(gy: RawTensor) {
    return RawTensor.groupNormBackward(gy, this.x, this.gamma, this.beta, this.stats, this.g);
  }
}

/**
 * PyTorch's F.group_norm: x is [N, C, ...]; statistics per sample over each group of C/groups
 * channels; then a per-channel affine (weight, bias of shape [C]; omitted means 1 and 0).
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5, opts: { silu?: boolean } = {}): Tensor {
  if (x.ndim < 2) throw new Error(`group_norm: input must be [N, C, ...], got ${formatShape(x.shape)}.`);
  const [n, c] = x.shape as [number, number];
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new Error(`group_norm: ${c} channels (input ${formatShape(x.shape)}) cannot be split into ${groups} groups; the channel count must be a multiple of the group count.`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new Error(`group_norm: ${name} ${formatShape(t.shape)} must be [${c}] for input ${formatShape(x.shape)}.`);
    }
  }
  const gamma = weight ?? x.wrap(RawTensor.full([c], 1, x.dtype, x.raw.backend));
  const beta = bias ?? x.wrap(RawTensor.full([c], 0, x.dtype, x.raw.backend));
  return apply(new GroupNorm({ n, c, hw: x.size / (n * c), groups, eps, silu: opts.silu ?? false }), x, gamma, beta);
}

/** silu(groupNorm(x, ...)) in one fused op (the pair every U-Net block starts with). */
export function groupNormSilu(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return groupNorm(x, groups, weight, bias, eps, { silu: true });
}
