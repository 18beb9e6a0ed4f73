import { split } from './ranges';
import { getRuntime } from './runtime';

/** Whether the wasm softmax applies: rows of whole f32x4 vectors. */
export const softmaxApplies = (cols: number): boolean => cols % 4 === 0;

/** Softmax over the last axis of [rows, cols] (softmax-module.ts), rows split across threads. */
export function softmaxF32(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
  if (!softmaxApplies(cols)) throw new Error(`softmaxRows: needs rows of a multiple of 4 values, got ${cols}.`);
  const rt = getRuntime();
  rt.frame((f) => {
    const xAt = f.input(x, 0, rows * cols), outAt = f.output(out, 0, rows * cols);
    rt.parallel('softmaxRows', split(rows, rt.threads).map(([row0, row1]) => ({ x: xAt * 4, out: outAt * 4, cols, row0, row1 })));
  });
}

/** Its gradient: gx = y (gy - sum over each row of gy y). */
export function softmaxBackwardF32(y: Float32Array, gy: Float32Array, gx: Float32Array, rows: number, cols: number): void {
  if (!softmaxApplies(cols)) throw new Error(`softmaxRowsBackward: needs rows of a multiple of 4 values, got ${cols}.`);
  const rt = getRuntime();
  const size = rows * cols;
  rt.frame((f) => {
    const yAt = f.input(y, 0, size), gyAt = f.input(gy, 0, size), gxAt = f.output(gx, 0, size);
    rt.parallel('softmaxRowsBackward', split(rows, rt.threads).map(([row0, row1]) => ({ y: yAt * 4, gy: gyAt * 4, gx: gxAt * 4, cols, row0, row1 })));
  });
}
