import fc from 'fast-check';
import { describe, it } from 'vitest';
import { matmul } from '../../kernels/cpu/matmul';
import { gemmF32 } from '../../kernels/cpu/wasm/gemm';
import type { MatmulGeometry } from '../../src/backend/backend';
import { abs, expectClose, place, random } from '../helpers/wasm-parity';

// The WebAssembly GEMM (kernels/cpu/wasm/gemm.ts) against the reference loop (kernels/cpu/matmul.ts).

describe('WebAssembly GEMM matches the reference', () => {
  it('over ragged sizes, transposes, batches and broadcast batch operands', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          m: fc.integer({ min: 1, max: 70 }),
          k: fc.integer({ min: 1, max: 600 }),
          n: fc.integer({ min: 1, max: 70 }),
          transA: fc.boolean(),
          transB: fc.boolean(),
          broadcastA: fc.boolean(),
          broadcastB: fc.boolean(),
          resident: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          const g: MatmulGeometry = {
            batch: p.batch, m: p.m, k: p.k, n: p.n, transA: p.transA, transB: p.transB,
            aBatchStride: p.broadcastA ? 0 : p.m * p.k, bBatchStride: p.broadcastB ? 0 : p.k * p.n,
          };
          const a = random((p.broadcastA ? 1 : p.batch) * p.m * p.k, p.seed);
          const b = random((p.broadcastB ? 1 : p.batch) * p.k * p.n, p.seed + 1);
          const fast = place(new Float32Array(p.batch * p.m * p.n).fill(Number.NaN), p.resident), ref = new Float32Array(fast.length), mag = new Float32Array(fast.length);
          gemmF32(place(a, p.resident), place(b, p.resident), fast, g);
          matmul(a, b, ref, g);
          matmul(abs(a), abs(b), mag, g);
          expectClose(fast, ref, mag);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('batches the threads split by entries (gemmBatch), padded and exact, transposed and broadcast operands', () => {
    const cases = [[4, 37, 300, 45, false, true, false], [2, 64, 70, 128, true, false, false], [6, 33, 129, 17, true, true, true], [8, 16, 64, 64, false, false, true]] as const;
    for (const [batch, m, k, n, transA, transB, broadcastB] of cases) {
      const g: MatmulGeometry = { batch, m, k, n, transA, transB, aBatchStride: m * k, bBatchStride: broadcastB ? 0 : k * n };
      const a = random(batch * m * k, m), b = random((broadcastB ? 1 : batch) * k * n, n);
      for (const resident of [false, true]) {
        const fast = place(new Float32Array(batch * m * n).fill(Number.NaN), resident), ref = new Float32Array(fast.length), mag = new Float32Array(fast.length);
        gemmF32(place(a, resident), place(b, resident), fast, g);
        matmul(a, b, ref, g);
        matmul(abs(a), abs(b), mag, g);
        expectClose(fast, ref, mag);
      }
    }
  });

  it('at a size that splits across threads along M and along N', () => {
    for (const [m, k, n] of [[131, 300, 37], [9, 517, 203]] as const) {
      const g: MatmulGeometry = { batch: 1, m, k, n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
      const a = random(m * k, m), b = random(k * n, n);
      const fast = new Float32Array(m * n), ref = new Float32Array(m * n), mag = new Float32Array(m * n);
      gemmF32(a, b, fast, g);
      matmul(a, b, ref, g);
      matmul(abs(a), abs(b), mag, g);
      expectClose(fast, ref, mag);
    }
  });
});
