import type { MatmulGeometry, TypedArray } from '../../src/backend/backend';

/** out[b] = op(a[b]) @ op(b[b]), op = transpose where the flag says so. Reference i-p-j loop. */
export function matmul(a: TypedArray, b: TypedArray, out: TypedArray, g: MatmulGeometry, bias?: TypedArray | null): void {
  const { batch, m, k, n } = g;
  const aRow = g.transA ? 1 : k, aCol = g.transA ? m : 1;
  const bRow = g.transB ? 1 : n, bCol = g.transB ? k : 1;
  const acc = new Float64Array(n);
  for (let t = 0; t < batch; t++) {
    const aBase = t * g.aBatchStride, bBase = t * g.bBatchStride, oBase = t * m * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const aip = a[aBase + i * aRow + p * aCol]!;
        if (aip === 0) continue;
        let bi = bBase + p * bRow;
        for (let j = 0; j < n; j++, bi += bCol) acc[j]! += aip * b[bi]!;
      }
      for (let j = 0; j < n; j++) out[oBase + i * n + j] = acc[j]!;
    }
  }
  if (bias) addRowBias(out, bias, g.n);
}

/** out[row, col] += bias[col] (a separate pass, rounding as an add would). */
export function addRowBias(out: TypedArray, bias: TypedArray, n: number): void {
  for (let i = 0; i < out.length; i += n) for (let j = 0; j < n; j++) out[i + j]! += bias[j]!;
}
