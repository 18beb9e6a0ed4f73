import { planReduce } from './reduce';
import { buf, checkGrid, int, type KernelThis, type Launch } from './launch';

// Softmax over the last axis of [rows, cols] and its gradient. Forward: the rows' maxima by the
// reduce kernel, then one thread per row sums exp(x - max), then one per element divides.
// Backward: one thread per row forms sum gy y, then one per element y (gy - dot).

/** s[row] = sum over the row of exp(x - m[row]); thread x = row. */
export function softmaxExpSumKernel(this: KernelThis, x: number[], m: number[], cols: number): number {
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[this.thread.x * cols + j] - m[this.thread.x]);
  return s;
}

/** out[row, col] = exp(x - m[row]) / s[row]; thread (x, y) = (col, row). */
export function softmaxApplyKernel(this: KernelThis, x: number[], m: number[], s: number[], cols: number): number {
  return Math.exp(x[this.thread.y * cols + this.thread.x] - m[this.thread.y]) / s[this.thread.y];
}

/** dot[row] = sum over the row of gy y; thread x = row. */
export function softmaxRowDotKernel(this: KernelThis, y: number[], gy: number[], cols: number): number {
  let s = 0;
  for (let j = 0; j < cols; j++) s += gy[this.thread.x * cols + j] * y[this.thread.x * cols + j];
  return s;
}

/** gx[row, col] = y (gy - dot[row]); thread (x, y) = (col, row). */
export function softmaxGradApplyKernel(this: KernelThis, y: number[], gy: number[], dot: number[], cols: number): number {
  return y[this.thread.y * cols + this.thread.x] * (gy[this.thread.y * cols + this.thread.x] - dot[this.thread.y]);
}

export function planSoftmax(x: number, out: number, rows: number, cols: number, temp: (size: number) => number): Launch[] {
  const output = [cols, rows];
  checkGrid('softmax', output, 'use a smaller batch');
  const m = temp(rows), s = temp(rows);
  return [
    ...planReduce('max', x, [rows, cols], [1], m, temp),
    { kernel: 'softmaxExpSum', output: [rows], out: s, args: [buf(x), buf(m), int(cols)] },
    { kernel: 'softmaxApply', output, out, args: [buf(x), buf(m), buf(s), int(cols)] },
  ];
}

export function planSoftmaxBackward(y: number, gy: number, gx: number, rows: number, cols: number, temp: (size: number) => number): Launch[] {
  const output = [cols, rows];
  checkGrid('softmax (gradient)', output, 'use a smaller batch');
  const dot = temp(rows);
  return [
    { kernel: 'softmaxRowDot', output: [rows], out: dot, args: [buf(y), buf(gy), int(cols)] },
    { kernel: 'softmaxGradApply', output, out: gx, args: [buf(y), buf(gy), buf(dot), int(cols)] },
  ];
}
