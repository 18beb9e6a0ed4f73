import { RawTensor } from '../tensor/raw';
import { formatShape, shapesEqual } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { div, mul, neg, square, sub } from './elementwise';
import { mean, sum } from './reduce';
import { logSoftmax } from './softmax';

/** Mean squared error, as F.mse_loss with reduction 'mean'. */
export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  if (!shapesEqual(pred.shape, target.shape)) {
    throw new Error(`mseLoss: prediction ${formatShape(pred.shape)} and target ${formatShape(target.shape)} must have the same shape.`);
  }
  return mean(square(sub(pred, target)));
}

/** Cross-entropy of logits [N, C] against integer class labels (length N), averaged over N. */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number> | Tensor): Tensor {
  if (logits.ndim !== 2) throw new Error(`crossEntropy: logits must be [N, C], got ${formatShape(logits.shape)}.`);
  const [n, c] = logits.shape as [number, number];
  // Tensor is a type here (no import cycle with tensor.ts): a label list is an array or typed array.
  const values = Array.isArray(labels) || ArrayBuffer.isView(labels) ? (labels as ArrayLike<number>) : (labels as Tensor).toArray();
  if (values.length !== n) {
    throw new Error(`crossEntropy: ${values.length} labels for logits ${formatShape(logits.shape)}; need one per row (${n}).`);
  }
  const oneHot = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const label = values[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= c) {
      throw new Error(`crossEntropy: label ${label} at row ${i} is not a class index in 0..${c - 1}.`);
    }
    oneHot[i * c + label] = 1;
  }
  const target = logits.wrap(RawTensor.fromArray(oneHot, [n, c], logits.dtype, logits.raw.backend));
  return div(neg(sum(mul(logSoftmax(logits, 1), target))), n);
}
