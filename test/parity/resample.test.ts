import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { upsampleNearest2x, upsampleNearest2xBackward } from '../../kernels/cpu/resample';
import { upsampleApplies, upsampleNearest2xBackwardF32, upsampleNearest2xF32 } from '../../kernels/cpu/wasm/resample';
import { abs, place, random } from '../helpers/wasm-parity';

// The WebAssembly nearest x2 up-sampling (kernels/cpu/wasm/resample.ts) against the reference loops (kernels/cpu/resample.ts).

describe('WebAssembly nearest x2 up-sampling matches the reference', () => {
  // Forward: copies, bit for bit. Backward: each value a float32 sum of 4 (3 roundings of at most
  // 2^-24 of the sum of |terms|) against the reference's float64 sum rounded once: 4 x 2^-24.
  it('forward and backward over planes, heights and widths that are whole vectors', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), (planes, h, quarter, resident, seed) => {
        const w = 4 * quarter, small = planes * h * w;
        expect(upsampleApplies(w) && !upsampleApplies(w + 2)).toBe(true);
        const x = random(small, seed), gy = random(4 * small, seed + 1);
        const [up, upRef] = [place(new Float32Array(4 * small).fill(Number.NaN), resident), new Float32Array(4 * small)];
        upsampleNearest2xF32(place(x, resident), up, planes, h, w);
        upsampleNearest2x(x, upRef, planes, h, w);
        expect(Array.from(up)).toEqual(Array.from(upRef));
        const [gx, gxRef, mag] = [place(new Float32Array(small).fill(Number.NaN), resident), new Float32Array(small), new Float32Array(small)];
        upsampleNearest2xBackwardF32(place(gy, resident), gx, planes, h, w);
        upsampleNearest2xBackward(gy, gxRef, planes, h, w);
        upsampleNearest2xBackward(abs(gy), mag, planes, h, w);
        gx.forEach((v, i) => {
          if (!(Math.abs(v - gxRef[i]!) <= 4 * 2 ** -24 * mag[i]!)) throw new Error(`dx ${i}: wasm ${v}, reference ${gxRef[i]}`);
        });
      }),
      { numRuns: 60 },
    );
  });
});
