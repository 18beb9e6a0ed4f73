import { buf, checkGrid, int, type KernelThis, type Launch } from './launch';

/** out[p, y, x] = x[p, y >> 1, x >> 1]; thread (x, y, z) = (column, row, plane) of the output. */
export function upsample2xKernel(this: KernelThis, x: number[], h: number, w: number): number {
  return x[(this.thread.z * h + (this.thread.y >> 1)) * w + (this.thread.x >> 1)];
}

/** The adjoint: each input position sums its 2x2 block of the output gradient. */
export function upsample2xBackwardKernel(this: KernelThis, gy: number[], h: number, w: number): number {
  const w2 = 2 * w;
  return (
    gy[(this.thread.z * 2 * h + 2 * this.thread.y) * w2 + 2 * this.thread.x] +
    gy[(this.thread.z * 2 * h + 2 * this.thread.y) * w2 + 2 * this.thread.x + 1] +
    gy[(this.thread.z * 2 * h + 2 * this.thread.y + 1) * w2 + 2 * this.thread.x] +
    gy[(this.thread.z * 2 * h + 2 * this.thread.y + 1) * w2 + 2 * this.thread.x + 1]
  );
}

export function planUpsample2x(x: number, out: number, planes: number, h: number, w: number): Launch {
  const output = [2 * w, 2 * h, planes];
  checkGrid('upsample', output, 'use a smaller batch');
  return { kernel: 'upsample2x', output, out, args: [buf(x), int(h), int(w)] };
}

export function planUpsample2xBackward(gy: number, out: number, planes: number, h: number, w: number): Launch {
  const output = [w, h, planes];
  checkGrid('upsample (gradient)', output, 'use a smaller batch');
  return { kernel: 'upsample2xBackward', output, out, args: [buf(gy), int(h), int(w)] };
}
