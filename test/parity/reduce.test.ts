import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reduce } from '../../kernels/cpu/reduce';
import { keptBlock, sumKeptBlockF32 } from '../../kernels/cpu/wasm/reduce';
import { abs, place, random } from '../helpers/wasm-parity';

// The WebAssembly row sums (kernels/cpu/wasm/reduce.ts) against the reference loop (kernels/cpu/reduce.ts).

describe('WebAssembly row sums (reduce sum keeping a middle block) match the reference', () => {
  // float32 lanes over chunks of 64 values (15 adds a lane, each rounding by at most 2^-24 of the
  // sum of |terms|), each chunk added in float64, then the float32 store: with the reference's own
  // store, 17 x 2^-24 of the sum of |terms|.
  it('over shapes and axes whose kept dimensions are one block, and leave others to the reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
        (shape, reduced, resident, seed) => {
          const axes = shape.map((_, d) => d).filter((d) => reduced[d]);
          const size = shape.reduce((x, y) => x * y, 1), block = keptBlock(shape, axes);
          const outShape = shape.map((n, d) => (axes.includes(d) ? 1 : n)), outSize = outShape.reduce((x, y) => x * y, 1);
          if (!block) return;
          expect(block.outer * block.mid * block.inner).toBe(size);
          expect(block.mid).toBe(outSize);
          const x = place(random(size, seed), resident);
          const [fast, ref, mag] = [place(new Float32Array(outSize).fill(Number.NaN), resident), new Float32Array(outSize), new Float32Array(outSize)];
          sumKeptBlockF32(x, block, fast);
          reduce('sum', x, shape, axes, ref);
          reduce('sum', abs(x), shape, axes, mag);
          fast.forEach((v, i) => {
            if (!(Math.abs(v - ref[i]!) <= 17 * 2 ** -24 * mag[i]! + 1e-30)) throw new Error(`sum ${i}: wasm ${v}, reference ${ref[i]}`);
          });
        },
      ),
      { numRuns: 150 },
    );
    expect(keptBlock([32, 64, 16, 16], [0, 2, 3])).toEqual({ outer: 32, mid: 64, inner: 256 });
    expect(keptBlock([32, 64, 16, 16], [1])).toBe(null); // kept dimensions on both sides of a reduced one
    expect(keptBlock([32, 64], [0])).toBe(null); // rows of one value
  });
});
