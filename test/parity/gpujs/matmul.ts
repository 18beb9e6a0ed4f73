import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import type { MatmulGeometry } from '../../../src/backend/backend';
import { caseList, onGpujs, ref, random, type ParityCase } from './helpers';

// The matmul kernels (kernels/gpujs/matmul.ts).

export function matmulCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, checkSummed, maybeAbs } = onGpujs(backend);

  it('matmul over ragged sizes, transposes and broadcast batches', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 1, max: 40 }), k: fc.integer({ min: 1, max: 300 }),
          n: fc.integer({ min: 1, max: 40 }), transA: fc.boolean(), transB: fc.boolean(), broadcastA: fc.boolean(),
          broadcastB: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          const g: MatmulGeometry = {
            batch: p.batch, m: p.m, k: p.k, n: p.n, transA: p.transA, transB: p.transB,
            aBatchStride: p.broadcastA ? 0 : p.m * p.k, bBatchStride: p.broadcastB ? 0 : p.k * p.n,
          };
          const a = random((p.broadcastA ? 1 : p.batch) * p.m * p.k, p.seed), bm = random((p.broadcastB ? 1 : p.batch) * p.k * p.n, p.seed + 1);
          checkSummed('matmul', p.batch * p.m * p.n, (out) => b.matmul(up(a), up(bm), out, g),
            (out, onAbs) => ref.matmul(maybeAbs(a, onAbs), maybeAbs(bm, onAbs), out, g));
          const bias = random(p.n, p.seed + 2);
          checkSummed('matmul with a bias', p.batch * p.m * p.n, (out) => b.matmul(up(a), up(bm), out, g, up(bias)),
            (out, onAbs) => ref.matmul(maybeAbs(a, onAbs), maybeAbs(bm, onAbs), out, g, maybeAbs(bias, onAbs)));
        },
      ),
      { numRuns: 15 },
    );
  });
  return cases;
}
