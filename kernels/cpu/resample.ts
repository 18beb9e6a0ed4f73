import type { TypedArray } from '../../src/backend/backend';

export function upsampleNearest2x(x: TypedArray, out: TypedArray, planes: number, h: number, w: number): void {
  const w2 = 2 * w;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const src = (p * h + y) * w;
      const dst = (p * 2 * h + 2 * y) * w2;
      for (let xx = 0; xx < w; xx++) {
        const v = x[src + xx]!;
        out[dst + 2 * xx] = v;
        out[dst + 2 * xx + 1] = v;
        out[dst + w2 + 2 * xx] = v;
        out[dst + w2 + 2 * xx + 1] = v;
      }
    }
  }
}

export function upsampleNearest2xBackward(gy: TypedArray, gx: TypedArray, planes: number, h: number, w: number): void {
  const w2 = 2 * w;
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const dst = (p * h + y) * w;
      const src = (p * 2 * h + 2 * y) * w2;
      for (let xx = 0; xx < w; xx++) {
        gx[dst + xx] = gy[src + 2 * xx]! + gy[src + 2 * xx + 1]! + gy[src + w2 + 2 * xx]! + gy[src + w2 + 2 * xx + 1]!;
      }
    }
  }
}
