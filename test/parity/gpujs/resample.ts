import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import { caseList, expectClose, onGpujs, ref, random, type ParityCase } from './helpers';

// The resampling kernels (kernels/gpujs/resample.ts): nearest 2x up-sampling and its adjoint.

export function resampleCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut, checkSummed, maybeAbs } = onGpujs(backend);

  it('nearest 2x up-sampling and its adjoint', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (planes, h, w, seed) => {
        const x = random(planes * h * w, seed), gy = random(planes * 4 * h * w, seed + 1);
        const up2 = gpuOut(gy.length), rUp = refOut(gy.length);
        b.upsampleNearest2x(up(x), up2, planes, h, w);
        ref.upsampleNearest2x(x, rUp, planes, h, w);
        expectClose('upsample', down(up2), rUp, () => 0);
        checkSummed('upsample backward', x.length, (out) => b.upsampleNearest2xBackward(up(gy), out, planes, h, w),
          (out, onAbs) => ref.upsampleNearest2xBackward(maybeAbs(gy, onAbs), out, planes, h, w));
      }),
      { numRuns: 15 },
    );
  });
  return cases;
}
