import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import { contiguousStrides } from '../../../src/backend/strides';
import { caseList, expectClose, onGpujs, ref, random, size, type ParityCase } from './helpers';

// The copy kernels (kernels/gpujs/copy.ts): concat, and the strided gathers and scatters of copy.

export function copyCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut, view } = onGpujs(backend);

  it('concat of two tensors along an axis', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1e6 }),
        (outer, sizeA, sizeB, inner, seed) => {
          const a = random(outer * sizeA * inner, seed), bv = random(outer * sizeB * inner, seed + 1);
          const n = outer * (sizeA + sizeB) * inner;
          const out = gpuOut(n), expected = refOut(n);
          b.concat(up(a), up(bv), out, outer, sizeA, sizeB, inner);
          ref.concat(a, bv, expected, outer, sizeA, sizeB, inner);
          expectClose('concat', down(out), expected, () => 0);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('copies: permute, slice and expand gathers; pad and concat scatters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.shuffledSubarray(shape.map((_, d) => d), { minLength: shape.length, maxLength: shape.length }),
            fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }),
            fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }),
            fc.integer({ min: 0, max: 1e6 }),
          ),
        ),
        ([shape, order, before, after, seed]) => {
          const x = random(size(shape), seed);
          const gx = up(x);
          const own = contiguousStrides(shape);
          // permute
          const pShape = order.map((d) => shape[d]!), pStrides = order.map((d) => own[d]!);
          let out = gpuOut(size(pShape));
          let expected = refOut(size(pShape));
          b.copy(view(gx, pStrides), pShape, view(out, contiguousStrides(pShape)));
          ref.copy(view(x, pStrides), pShape, view(expected, contiguousStrides(pShape)));
          expectClose(`permute [${shape}] by [${order}]`, down(out), expected, () => 0);
          // slice (drop `before` from the front of each dimension where it fits)
          const starts = shape.map((s, d) => Math.min(before[d]!, s - 1));
          const sShape = shape.map((s, d) => s - starts[d]!);
          const offset = starts.reduce((acc, s, d) => acc + s * own[d]!, 0);
          out = gpuOut(size(sShape));
          expected = refOut(size(sShape));
          b.copy(view(gx, own, offset), sShape, view(out, contiguousStrides(sShape)));
          ref.copy(view(x, own, offset), sShape, view(expected, contiguousStrides(sShape)));
          expectClose(`slice [${shape}] from [${starts}]`, down(out), expected, () => 0);
          // pad: fill, then scatter into the box
          const padShape = shape.map((s, d) => s + before[d]! + after[d]!);
          const padStrides = contiguousStrides(padShape);
          const padOffset = before.reduce((acc, p, d) => acc + p * padStrides[d]!, 0);
          out = gpuOut(size(padShape));
          expected = refOut(size(padShape));
          b.fill(out, -7);
          ref.fill(expected, -7);
          b.copy(view(gx, own), shape, view(out, padStrides, padOffset));
          ref.copy(view(x, own), shape, view(expected, padStrides, padOffset));
          expectClose(`pad [${shape}] by [${before}]/[${after}]`, down(out), expected, () => 0);
          // concat along the first axis with a second part, into a buffer never written before
          const cShape = [shape[0]! * 2, ...shape.slice(1)];
          const cStrides = contiguousStrides(cShape);
          out = gpuOut(size(cShape));
          expected = refOut(size(cShape));
          for (const part of [0, 1]) {
            b.copy(view(gx, own), shape, view(out, cStrides, part * shape[0]! * cStrides[0]!));
            ref.copy(view(x, own), shape, view(expected, cStrides, part * shape[0]! * cStrides[0]!));
          }
          expectClose(`concat [${shape}] x2`, down(out), expected, () => 0);
        },
      ),
      { numRuns: 15 },
    );
  });
  return cases;
}
