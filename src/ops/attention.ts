import { apply, Fn } from '../autograd/fn';
import type { RawTensor } from '../tensor/raw';
import { tidy } from '../tensor/scope';
import { formatShape, shapesEqual } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/**
 * out = v softmax(scale q^T k)^T per batch entry, on [B, d, n] operands. The scores and their
 * softmax are [B, n, n] (query rows, key columns); the products read their transposed operands in
 * place (Backend.matmul's transA / transB) and the softmax is one primitive each way, so nothing
 * of size n x n is copied and only the softmax output is kept for the backward.
 */
class Attention extends Fn {
  private qs!: RawTensor;
  private k!: RawTensor;
  private v!: RawTensor;
  private weights!: RawTensor;
  constructor(private readonly scale: number) {
    super();
  }
  forward(q: RawTensor, k: RawTensor, v: RawTensor): RawTensor {
    // the scale on q ([B, d, n]) rather than on the scores ([B, n, n])
    const qs = q.mulScalar(this.scale);
    // the scores are dropped as soon as their softmax is formed
    this.weights = tidy(() => qs.matmul3d(k, true, false).softmaxLast());
    [this.qs, this.k, this.v] = [qs, k, v];
    return v.matmul3d(this.weights, false, true);
  }
  // dv = g W; dW = g^T v; dS = softmax'(dW); dq = scale k dS^T; dk = (scale q) dS
  backward(g: RawTensor) {
    const [needQ, needK, needV] = this.needsInputGrad;
    const gv = needV ? g.matmul3d(this.weights, false, false) : null;
    if (!needQ && !needK) return [null, null, gv];
    const ds = tidy(() => this.weights.softmaxLastBackward(g.matmul3d(this.v, true, false)));
    const gq = needQ ? this.k.matmul3d(ds, false, true).mulScalar(this.scale) : null;
    const gk = needK ? this.qs.matmul3d(ds, false, false) : null;
    return [gq, gk, gv];
  }
}

/**
 * Scaled dot-product attention with channels first (the official UNet's QKVAttention layout):
 * q, k, v are [B, d, n] (B = batch x heads, d channels per head, n positions); returns [B, d, n],
 * out[b, :, i] = sum_j softmax_j(scale q[b, :, i] . k[b, :, j]) v[b, :, j]. scale defaults to
 * 1 / sqrt(d).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, scale = 1 / Math.sqrt(q.shape[1] ?? 1)): Tensor {
  if (q.ndim !== 3 || !shapesEqual(q.shape, k.shape) || !shapesEqual(q.shape, v.shape)) {
    throw new Error(`attention: q, k and v must be [B, d, n] of one shape, got ${formatShape(q.shape)}, ${formatShape(k.shape)} and ${formatShape(v.shape)}.`);
  }
  if (!Number.isFinite(scale)) throw new Error(`attention: scale must be a finite number, got ${scale}.`);
  return apply(new Attention(scale), q, k, v);
}
