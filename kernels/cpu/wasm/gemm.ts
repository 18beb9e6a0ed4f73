import type { MatmulGeometry } from '../../../src/backend/backend';
import { MR, NR } from './gemm-module';
import { ceilTo, split } from './ranges';
import { getRuntime } from './runtime';

/**
 * Packs the m x k matrix A (element (i, p) at heap float address srcAt + i rs + p cs) into MR-row
 * panels per K block at dstAt, rows zero-padded up to mp (the layout of gemm-module.ts), by the
 * packA kernel with the panels split across `threads`.
 */
export function packAOnThreads(srcAt: number, rs: number, cs: number, m: number, k: number, mp: number, dstAt: number, threads = getRuntime().threads): void {
  getRuntime().parallel('packA', split(mp / MR, threads).map(([mt0, mt1]) => ({ src: srcAt * 4, dst: dstAt * 4, rs, cs, m, k, mp, mt0, mt1 })));
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
  // a batch that divides among the threads (or is long): each thread takes whole entries, packing and
  // multiplying them on its own (one hand-off per call); otherwise the threads share each entry
  const byEntries = rt.threads > 1 && batch >= rt.threads && (batch % rt.threads === 0 || batch >= 4 * rt.threads) && batch * m * n * k >= PARALLEL_MIN_MACS;
  if (byEntries) {
    rt.frame((f) => {
      const aRawAt = f.input(a, 0, aLength), bRawAt = f.input(b, 0, bLength), outAt = f.output(out, 0, batch * m * n);
      const exact = mp === m && np === n, perThread = mp * k + k * np + (exact ? 0 : mp * np);
      const scratchAt = f.scratch(rt.threads * perThread);
      rt.parallel('gemmBatch', split(batch, rt.threads).map(([t0, t1], th) => {
        const aBuf = scratchAt + th * perThread, bBuf = aBuf + mp * k, cBuf = bBuf + k * np;
        return {
          a: aRawAt * 4, b: bRawAt * 4, out: outAt * 4, aStride: g.aBatchStride * 4, bStride: g.bBatchStride * 4, t0, t1, m, k, n, mp, np,
          aRs, aCs, bRs, bCs, aBuf: aBuf * 4, bBuf: bBuf * 4, cBuf: cBuf * 4, exact: exact ? 1 : 0,
        };
      }));
    });
    return;
  }
  rt.frame((f) => {
    // raw operands are read where they are (copied into the heap when not resident), packed by wasm
    const aRawAt = f.input(a, 0, aLength), bRawAt = f.input(b, 0, bLength);
    const aAt = f.scratch(mp * k), bAt = f.scratch(k * np);
    // C straight into out when it has no padding; else a padded C copied row by row
    const exact = mp === m && np === n;
    const cAt = exact ? f.output(out, 0, batch * m * n) : f.scratch(mp * np);
    for (let t = 0; t < batch; t++) {
      const aSrc = aRawAt + t * g.aBatchStride, bSrc = bRawAt + t * g.bBatchStride;
      packAOnThreads(aSrc, aRs, aCs, m, k, mp, aAt, threads);
      rt.parallel('packB', split(np / NR, threads).map(([nt0, nt1]) => ({ src: bSrc * 4, dst: bAt * 4, rs: bRs, cs: bCs, k, n, np, nt0, nt1 })));
      runPackedGemm(mp, np, k, aAt, bAt, exact ? cAt + t * m * n : cAt, false, parallel);
      if (exact) continue;
      const mem = f.mem, o = t * m * n;
      for (let i = 0; i < m; i++) out.set(mem.subarray(cAt + i * np, cAt + i * np + n), o + i * n);
    }
  });
}
