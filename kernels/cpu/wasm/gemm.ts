import type { MatmulGeometry } from '../../../src/backend/backend';
import { KC, MR, NR } from './gemm-module';
import { ceilTo, split } from './ranges';
import { getRuntime } from './runtime';

/**
 * Packs the m x k matrix A (element (i, p) at src[off + i*rs + p*cs]) into MR-row panels per
 * K block, zero-padding rows up to mp (see gemm-module.ts for the layout).
 */
function packA(src: Float32Array, off: number, rs: number, cs: number, m: number, k: number, mp: number, dst: Float32Array, at: number): void {
  for (let ks = 0; ks < k; ks += KC) {
    const kcb = Math.min(KC, k - ks);
    for (let mt = 0; mt < mp / MR; mt++) {
      const o = at + ks * mp + mt * MR * kcb;
      for (let r = 0; r < MR; r++) {
        const i = mt * MR + r;
        let d = o + r;
        if (i >= m) {
          for (let kk = 0; kk < kcb; kk++, d += MR) dst[d] = 0;
          continue;
        }
        let s = off + i * rs + ks * cs;
        for (let kk = 0; kk < kcb; kk++, d += MR, s += cs) dst[d] = src[s]!;
      }
    }
  }
}

/** Tile ranges [mt0, mt1, nt0, nt1] per thread, splitting whichever of M and N has more tiles. */
function splitTiles(mTiles: number, nTiles: number, threads: number): [number, number, number, number][] {
  if (mTiles >= nTiles) return split(mTiles, threads).map(([a, b]) => [a, b, 0, nTiles]);
  return split(nTiles, threads).map(([a, b]) => [0, mTiles, a, b]);
}

/**
 * Runs the packed GEMM C (mp x np at cAt) = A (at aAt) B (at bAt) with depth k on all threads;
 * addresses in floats. With accumulate, C += A B.
 */
export function runPackedGemm(mp: number, np: number, k: number, aAt: number, bAt: number, cAt: number, accumulate: boolean, parallel = true): void {
  const rt = getRuntime();
  const tiles = splitTiles(mp / MR, np / NR, parallel ? rt.threads : 1);
  rt.parallel('gemm', tiles.map(([mt0, mt1, nt0, nt1]) => ({
    a: aAt * 4, b: bAt * 4, c: cAt * 4, mt0, mt1, nt0, nt1, k, mp4: mp * 4, np4: np * 4, accumulate: accumulate ? 1 : 0,
  })));
}

export { packA };

/** Below this many multiply-adds a second thread costs more than it saves. */
const PARALLEL_MIN_MACS = 1 << 18;

/** Batched float32 GEMM through the WebAssembly SIMD micro-kernel, on all threads. */
export function gemmF32(a: Float32Array, b: Float32Array, out: Float32Array, g: MatmulGeometry): void {
  const { batch, m, k, n } = g;
  if (m === 0 || n === 0) return;
  if (k === 0) {
    out.fill(0, 0, batch * m * n);
    return;
  }
  const rt = getRuntime();
  const mp = ceilTo(m, MR), np = ceilTo(n, NR);
  const aRs = g.transA ? 1 : k, aCs = g.transA ? m : 1;
  const bRs = g.transB ? 1 : n, bCs = g.transB ? k : 1;
  const parallel = m * n * k >= PARALLEL_MIN_MACS;
  const threads = parallel ? rt.threads : 1;
  const aLength = (batch - 1) * g.aBatchStride + m * k, bLength = (batch - 1) * g.bBatchStride + k * n;
  rt.frame((f) => {
    // raw operands are read where they are (copied into the heap when not resident), packed by wasm
    const aRawAt = f.input(a, 0, aLength), bRawAt = f.input(b, 0, bLength);
    const aAt = f.scratch(mp * k), bAt = f.scratch(k * np);
    // C straight into out when it has no padding; else a padded C copied row by row
    const exact = mp === m && np === n;
    const cAt = exact ? f.output(out, 0, batch * m * n) : f.scratch(mp * np);
    for (let t = 0; t < batch; t++) {
      const aSrc = aRawAt + t * g.aBatchStride, bSrc = bRawAt + t * g.bBatchStride;
      rt.parallel('packA', split(mp / MR, threads).map(([mt0, mt1]) => ({ src: aSrc * 4, dst: aAt * 4, rs: aRs, cs: aCs, m, k, mp, mt0, mt1 })));
      rt.parallel('packB', split(np / NR, threads).map(([nt0, nt1]) => ({ src: bSrc * 4, dst: bAt * 4, rs: bRs, cs: bCs, k, n, np, nt0, nt1 })));
      runPackedGemm(mp, np, k, aAt, bAt, exact ? cAt + t * m * n : cAt, false, parallel);
      if (exact) continue;
      const mem = f.mem, o = t * m * n;
      for (let i = 0; i < m; i++) out.set(mem.subarray(cAt + i * np, cAt + i * np + n), o + i * n);
    }
  });
}
