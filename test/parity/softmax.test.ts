import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { softmax, softmaxBackward } from '../../kernels/cpu/softmax';
import { softmaxApplies, softmaxBackwardF32, softmaxF32 } from '../../kernels/cpu/wasm/softmax';
import { abs, place, random } from '../helpers/wasm-parity';

// The WebAssembly softmax over rows and its gradient (kernels/cpu/wasm/softmax.ts) against the
// reference loops (kernels/cpu/softmax.ts), which work in float64.

/** Rows of `cols` values: long ones (whole chunks of 64 and a rest), short ones, a spread of scales. */
const rowsArb = fc.record({
  rows: fc.integer({ min: 1, max: 9 }), quarter: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 16, max: 70 })),
  spread: fc.constantFrom(1, 10, 60), resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('WebAssembly softmax over rows matches the reference', () => {
  // Forward: each output is e / sum with e from a vector exp (error well under 2^-23 relative), the
  // sum in f32x4 chunks of 64 added in f64: a few float32 ulps of the output.
  it('forward, in place too', () => {
    fc.assert(
      fc.property(rowsArb, fc.boolean(), ({ rows, quarter, spread, resident, seed }, inPlace) => {
        const cols = 4 * quarter, size = rows * cols;
        expect(softmaxApplies(cols) && !softmaxApplies(cols + 2)).toBe(true);
        const x = random(size, seed).map((v) => v * spread);
        const ref = new Float32Array(size);
        softmax(x, ref, rows, cols);
        const input = place(x.slice(), resident);
        const out = inPlace ? input : place(new Float32Array(size).fill(Number.NaN), resident);
        softmaxF32(input, out, rows, cols);
        out.forEach((v, i) => {
          if (!(Math.abs(v - ref[i]!) <= 1e-6 * ref[i]! + 1e-12)) throw new Error(`y ${i}: wasm ${v}, reference ${ref[i]}`);
        });
        for (let r = 0; r < rows; r++) expect(out.subarray(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      }),
      { numRuns: 60 },
    );
  });

  // Backward: gx = y (gy - dot), dot summed as the forward's sum: its error is float32 ulps of
  // sum |gy y|, so the tolerance is y times that, plus the rounding of the product.
  it('backward, into the gradient too', () => {
    fc.assert(
      fc.property(rowsArb, fc.boolean(), ({ rows, quarter, spread, resident, seed }, inPlace) => {
        const cols = 4 * quarter, size = rows * cols;
        const y = new Float32Array(size);
        softmax(random(size, seed).map((v) => v * spread), y, rows, cols);
        const gy = random(size, seed + 1);
        const [ref, dotMag] = [new Float32Array(size), new Float32Array(size)];
        softmaxBackward(y, gy, ref, rows, cols);
        const gyIn = place(gy.slice(), resident);
        const gx = inPlace ? gyIn : place(new Float32Array(size).fill(Number.NaN), resident);
        softmaxBackwardF32(place(y, resident), gyIn, gx, rows, cols);
        // sum over the row of |gy y|, per element
        const a = abs(gy);
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let c = 0; c < cols; c++) s += a[r * cols + c]! * y[r * cols + c]!;
          dotMag.fill(s, r * cols, (r + 1) * cols);
        }
        gx.forEach((v, i) => {
          const tol = 2 ** -20 * y[i]! * (a[i]! + dotMag[i]!) + 1e-12;
          if (!(Math.abs(v - ref[i]!) <= tol)) throw new Error(`dx ${i}: wasm ${v}, reference ${ref[i]}`);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a row of equal values, and large logits that would overflow exp unshifted', () => {
    const x = Float32Array.of(3, 3, 3, 3, 1000, 0, -1000, 999);
    const out = new Float32Array(8);
    softmaxF32(x, out, 2, 4);
    expect(Array.from(out.subarray(0, 4))).toEqual([0.25, 0.25, 0.25, 0.25]);
    const ref = new Float32Array(8);
    softmax(x, ref, 2, 4);
    out.subarray(4).forEach((v, i) => expect(Math.abs(v - ref[4 + i]!)).toBeLessThan(1e-7));
  });
});
