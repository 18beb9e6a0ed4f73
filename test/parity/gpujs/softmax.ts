import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import { caseList, expectClose, onGpujs, ref, random, relative, summed, type ParityCase } from './helpers';

// The softmax kernels (kernels/gpujs/softmax.ts): softmax over rows and its gradient. Sizes over
// the host mirror's 4096 elements run on the device; smaller ones on the host.

export function softmaxCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut } = onGpujs(backend);

  it('softmax over rows and its gradient', () => {
    const check = (rows: number, cols: number, spread: number, seed: number): void => {
      const n = rows * cols, x = random(n, seed, -spread, spread), gy = random(n, seed + 1);
      const y = gpuOut(n), expected = refOut(n);
      b.softmax(up(x), y, rows, cols);
      ref.softmax(x, expected, rows, cols);
      // exp: a few ulp; the row's sum over cols terms in float32
      expectClose(`softmax [${rows}, ${cols}]`, down(y), expected, relative(expected, 1e-5 + 2e-7 * cols, 1e-9));
      // the gradient at the reference's y: tolerance from sum |gy y| per row (float32 sums)
      const gx = gpuOut(n), gxRef = refOut(n), mag = refOut(n);
      b.softmaxBackward(up(expected), up(gy), gx, rows, cols);
      ref.softmaxBackward(expected, gy, gxRef, rows, cols);
      const a = gy.map(Math.abs);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += a[r * cols + c]! * expected[r * cols + c]!;
        for (let c = 0; c < cols; c++) mag[r * cols + c] = expected[r * cols + c]! * (a[r * cols + c]! + s);
      }
      expectClose(`softmax backward [${rows}, ${cols}]`, down(gx), gxRef, summed(mag));
    };
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.constantFrom(1, 20), fc.integer({ min: 0, max: 1e6 }),
      (rows, cols, spread, seed) => check(rows, cols, spread, seed)), { numRuns: 8 });
    check(70, 100, 5, 3);
    check(5, 1030, 30, 4);
  });
  return cases;
}
