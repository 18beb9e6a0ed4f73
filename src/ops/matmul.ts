import { apply, Fn } from '../autograd/fn';
import type { RawTensor } from '../tensor/raw';
import { broadcastShapes, formatShape, shapeSize } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { expand, reshape } from './movement';

/**
 * out = a @ b on 3-d buffers [Ba, M, K] x [Bb, K, N] (b stored [Bb, N, K] when transB), Ba and Bb
 * each the batch or 1. Gradients: dA = g @ B^T, dB = A^T @ g, in the batch's shape; the engine
 * sums a broadcast batch away.
 */
/** [B, M, K] @ [B, K, N] (or b read transposed), with an optional bias [N] added to every row in the same kernel. */
class BatchedMatmul extends Fn {
  private a!: RawTensor;
  private b!: RawTensor;
  constructor(private readonly transB: boolean) {
    super();
  }
  forward(a: RawTensor, b: RawTensor, bias?: RawTensor): RawTensor {
    this.a = a;
    this.b = b;
    return a.matmul3d(b, false, this.transB, bias ?? null);
  }
  backward(g: RawTensor) {
    const gradA = this.needsInputGrad[0] ? g.matmul3d(this.b, false, !this.transB) : null;
    let gradB: RawTensor | null = null;
    if (this.needsInputGrad[1]) gradB = this.transB ? g.matmul3d(this.a, true, false) : this.a.matmul3d(g, true, false);
    const n = g.shape[2]!;
    const gradBias = this.needsInputGrad[2] ? g.reduce('sum', [0, 1]).reshape([n]) : null;
    return [gradA, gradB, gradBias];
  }
}

function shapeError(a: Tensor, b: Tensor, why: string): Error {
  return new Error(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: ${why}.`);
}

/** Matrix product with NumPy/PyTorch semantics: 1-d operands are vectors, batch dimensions broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw shapeError(a, b, 'both operands need at least one dimension');
  const av = a.ndim === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const bv = b.ndim === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const [m, k] = av.shape.slice(-2) as [number, number];
  const [k2, n] = bv.shape.slice(-2) as [number, number];
  if (k !== k2) throw shapeError(a, b, `inner dimensions ${k} and ${k2} differ`);
  const aBatch = av.shape.slice(0, -2), bBatch = bv.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', aBatch, bBatch);
  } catch {
    throw shapeError(a, b, `batch dimensions ${formatShape(aBatch)} and ${formatShape(bBatch)} do not broadcast`);
  }
  const as3 = (t: Tensor, own: readonly number[], rows: number, cols: number): Tensor => {
    if (shapeSize(own) === 1) return reshape(t, [1, rows, cols]);
    const full = own.length === batch.length && own.every((s, i) => s === batch[i]) ? t : expand(t, [...batch, rows, cols]);
    return reshape(full, [-1, rows, cols]);
  };
  const out = apply(new BatchedMatmul(false), as3(av, aBatch, m, k), as3(bv, bBatch, k, n));
  const shape = [...batch, m, n];
  if (a.ndim === 1) shape.splice(shape.length - 2, 1);
  if (b.ndim === 1) shape.splice(shape.length - 1, 1);
  return reshape(out, shape);
}

/** y = x W^T + b with W of shape [out, in] (PyTorch's Linear); x is [..., in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.ndim !== 2) throw new Error(`linear: weight must be [out, in], got ${formatShape(weight.shape)}.`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(`linear: input ${formatShape(x.shape)} does not end in ${inF} features as weight ${formatShape(weight.shape)} expects.`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new Error(`linear: bias ${formatShape(bias.shape)} must be [${outF}] for weight ${formatShape(weight.shape)}.`);
  }
  const rows = x.size / inF;
  const operands = [reshape(x, [1, rows, inF]), reshape(weight, [1, outF, inF]), ...(bias ? [bias] : [])];
  return reshape(apply(new BatchedMatmul(true), ...operands), [...x.shape.slice(0, -1), outF]);
}
