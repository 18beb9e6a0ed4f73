import { sqrt } from '../ops/elementwise';
import { sum } from '../ops/reduce';
import type { Tensor } from '../tensor/tensor';

/** Per-sample pseudo-Huber distance sqrt(||a - b||^2 + c^2) - c over all but the batch axis. */
export function pseudoHuber(a: Tensor, b: Tensor, c: number): Tensor {
  const axes = Array.from({ length: a.ndim - 1 }, (_, i) => i + 1);
  return sqrt(sum(a.sub(b).square(), axes).add(c * c)).sub(c);
}

/** Improved CT's c = 0.00054 sqrt(d) for images of d = channels x pixels values. */
export function pseudoHuberConstant(channels: number, height: number, width: number): number {
  return 0.00054 * Math.sqrt(channels * height * width);
}
