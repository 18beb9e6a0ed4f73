import type { MatmulGeometry } from '../../src/backend/backend';
import { buf, checkGrid, int, type KernelThis, type Launch } from './launch';

/**
 * out[batch, row, col] = sum_k a(row, k) b(k, col); thread (x, y, z) = (col, row, batch). Element
 * (row, k) of a is at batch*aBatch + row*aRow + k*aK, so a transposed operand is only a change of
 * strides; likewise for b.
 */
export function matmulKernel(
  this: KernelThis, a: number[], b: number[], bias: number[], k: number,
  aBatch: number, aRow: number, aK: number, bBatch: number, bK: number, bCol: number,
): number {
  let acc = 0;
  for (let i = 0; i < k; i++) {
    acc += a[this.thread.z * aBatch + this.thread.y * aRow + i * aK] * b[this.thread.z * bBatch + i * bK + this.thread.x * bCol];
  }
  if (this.constants.BIAS === 1) return acc + bias[this.thread.x];
  return acc;
}

/** Without a bias, b is bound in its place (never read). */
export function planMatmul(a: number, b: number, out: number, g: MatmulGeometry, bias: number | null = null): Launch {
  const output = [g.n, g.m, g.batch];
  checkGrid('matmul', output, 'split the batch');
  const [aRow, aK] = g.transA ? [1, g.m] : [g.k, 1];
  const [bK, bCol] = g.transB ? [1, g.k] : [g.n, 1];
  return {
    kernel: 'matmul', constants: { BIAS: bias === null ? 0 : 1 }, output, out,
    args: [buf(a), buf(b), buf(bias ?? b), int(g.k), int(g.aBatchStride), int(aRow), int(aK), int(g.bBatchStride), int(bK), int(bCol)],
  };
}
