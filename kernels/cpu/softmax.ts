import type { TypedArray } from '../../src/backend/backend';

// Softmax over the last axis of [rows, cols] and its gradient: the reference loops. Sums in
// float64 whatever the buffer's dtype; exp in float64 too, rounded once into out.

/** out[r, c] = exp(x[r, c] - max_r) / sum_c' exp(x[r, c'] - max_r); out may be x. */
export function softmax(x: TypedArray, out: TypedArray, rows: number, cols: number): void {
  const e = new Float64Array(cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = x[o + c]!;
      if (v > max || Number.isNaN(v)) max = v;
    }
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += e[c] = Math.exp(x[o + c]! - max);
    for (let c = 0; c < cols; c++) out[o + c] = e[c]! / sum;
  }
}

/** gx[r, c] = y[r, c] (gy[r, c] - sum_c' gy[r, c'] y[r, c']); gx may be gy. */
export function softmaxBackward(y: TypedArray, gy: TypedArray, gx: TypedArray, rows: number, cols: number): void {
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += gy[o + c]! * y[o + c]!;
    for (let c = 0; c < cols; c++) gx[o + c] = y[o + c]! * (gy[o + c]! - dot);
  }
}
