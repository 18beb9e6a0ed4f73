import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import { abs, caseList, expectClose, onGpujs, ref, random, size, summed, type ParityCase } from './helpers';

// The reduction kernels (kernels/gpujs/reduce.ts): sum and max, one stage and chunked.

export function reduceCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut } = onGpujs(backend);

  it('reductions (sum, max) over any set of axes, short and long', () => {
    const shapeAxes = fc
      .array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 })
      .chain((shape) => fc.tuple(fc.constant(shape), fc.subarray(shape.map((_, d) => d), { minLength: 1 }), fc.integer({ min: 0, max: 1e6 })));
    const check = (shape: number[], axes: number[], seed: number): void => {
      const x = random(size(shape), seed);
      const outSize = size(shape.map((s, d) => (axes.includes(d) ? 1 : s)));
      for (const op of ['sum', 'max'] as const) {
        const out = gpuOut(outSize), expected = refOut(outSize), mag = refOut(outSize);
        b.reduce(op, up(x), shape, axes, out);
        ref.reduce(op, x, shape, axes, expected);
        ref.reduce(op, abs(x), shape, axes, mag);
        expectClose(`reduce ${op} [${shape}] over [${axes}]`, down(out), expected, op === 'max' ? () => 0 : summed(mag));
      }
    };
    fc.assert(fc.property(shapeAxes, ([shape, axes, seed]) => check(shape, axes, seed)), { numRuns: 20 });
    check([3, 5000], [1], 7); // chunked: partial sums, then a second stage
    check([70001], [0], 8);
    check([2, 1300, 3], [0, 1], 9);
  });
  return cases;
}
