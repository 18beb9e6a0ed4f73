import { apply, Fn } from '../autograd/fn';
import type { GroupNormGeometry } from '../backend/backend';
import { RawTensor } from '../tensor/raw';
import { formatShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

class GroupNorm extends Fn {
  private x!: RawTensor;
  private gamma!: RawTensor;
  private mean!: RawTensor;
  private rstd!: RawTensor;
  constructor(private readonly g: GroupNormGeometry) {
    super();
  }
  forward(x: RawTensor, gamma: RawTensor, beta: RawTensor): RawTensor {
    this.x = x;
    this.gamma = gamma;
    const { out, mean, rstd } = x.groupNorm(gamma, beta, this.g);
    this.mean = mean;
    this.rstd = rstd;
    return out;
  }
  backward(gy: RawTensor) {
    return RawTensor.groupNormBackward(gy, this.x, this.gamma, this.mean, this.rstd, this.g);
  }
}

/**
 * PyTorch's F.group_norm: x is [N, C, ...]; statistics per sample over each group of C/groups
 * channels; then a per-channel affine (weight, bias of shape [C]; omitted means 1 and 0).
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
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
  const gamma = weight ?? new Tensor(RawTensor.full([c], 1, x.dtype, x.raw.backend));
  const beta = bias ?? new Tensor(RawTensor.full([c], 0, x.dtype, x.raw.backend));
  return apply(new GroupNorm({ n, c, hw: x.size / (n * c), groups, eps }), x, gamma, beta);
}
