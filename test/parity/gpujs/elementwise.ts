import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import { BINARY_OPS, DIFFERENTIABLE_UNARY_OPS, UNARY_OPS } from '../../../src/backend/backend';
import { contiguousStrides } from '../../../src/backend/strides';
import { caseList, expectClose, onGpujs, ref, random, relative, size, type ParityCase } from './helpers';

// The elementwise kernels (kernels/gpujs/elementwise.ts): the backend's start and its data
// round trip (fill, cast), unary ops and their gradients, binary ops with broadcasting and with a
// one-element scalar operand, where.

export function elementwiseCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut, view } = onGpujs(backend);

  it('starts, reports its mode, and round-trips data', () => {
    const x = random(1001, 1);
    expectClose('round trip', down(up(x)), x, () => 0);
    const z = gpuOut(37);
    expectClose('a fresh buffer', down(z), new Float32Array(37), () => 0);
    b.fill(z, 2.5);
    expectClose('fill', down(z), new Float32Array(37).fill(2.5), () => 0);
    expectClose('cast', down(b.cast(up(x), 'float32')), x, () => 0);
  });

  it('unary and unary-gradient kernels, every op', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const x = random(n, seed, -4, 4);
        const positive = x.map((v) => Math.abs(v) + 0.05);
        for (const op of UNARY_OPS) {
          const input = op === 'log' || op === 'sqrt' || op === 'reciprocal' ? positive : x;
          const out = gpuOut(n), expected = refOut(n);
          b.unary(op, up(input), out);
          ref.unary(op, input, expected);
          expectClose(`unary ${op}`, down(out), expected, relative(expected, 4e-6, op === 'sin' || op === 'cos' ? 2e-6 : 1e-7));
        }
        const g = random(n, seed + 1);
        for (const op of DIFFERENTIABLE_UNARY_OPS) {
          const out = gpuOut(n), expected = refOut(n);
          b.unaryGrad(op, up(x), up(g), out);
          ref.unaryGrad(op, x, g, expected);
          expectClose(`unaryGrad ${op}`, down(out), expected, relative(expected, 4e-6, 2e-6));
        }
      }),
      { numRuns: 6 },
    );
  });

  // Two shapes that broadcast together, up to rank 5, with odd sizes.
  const broadcastPair = fc
    .array(fc.integer({ min: 1, max: 7 }), { minLength: 0, maxLength: 5 })
    .chain((full) =>
      fc.tuple(
        fc.constant(full),
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
        fc.integer({ min: 0, max: 1e6 }),
      ),
    );
  const broadcastStrides = (shape: number[], ones: boolean[]): number[] => {
    const own = shape.map((s, d) => (ones[d] ? 1 : s));
    const strides = contiguousStrides(own);
    return strides.map((s, d) => (own[d] === 1 ? 0 : s));
  };

  it('binary kernels, every op, with broadcasting', () => {
    fc.assert(
      fc.property(broadcastPair, ([shape, onesA, onesB, seed]) => {
        const n = size(shape);
        const aShape = shape.map((s, d) => (onesA[d] ? 1 : s)), bShape = shape.map((s, d) => (onesB[d] ? 1 : s));
        const a = random(size(aShape), seed, -3, 3), bv = random(size(bShape), seed + 1, -3, 3);
        // integers where the comparison and pow ops meet equal values and whole exponents
        if (seed % 2 === 0) { a.forEach((v, i) => (a[i] = Math.round(v))); bv.forEach((v, i) => (bv[i] = Math.round(v))); }
        const sa = broadcastStrides(shape, onesA), sb = broadcastStrides(shape, onesB);
        const ga = up(a), gb = up(bv);
        for (const op of BINARY_OPS) {
          const out = gpuOut(n), expected = refOut(n);
          b.binary(op, view(ga, sa), view(gb, sb), shape, out);
          ref.binary(op, view(a, sa), view(bv, sb), shape, expected);
          expectClose(`binary ${op} over [${shape}]`, down(out), expected, relative(expected, op === 'pow' ? 2e-5 : 4e-7));
        }
        const c = a.map((v) => (v > 0 ? 1 : 0));
        const out = gpuOut(n), expected = refOut(n);
        b.where(view(up(c), sa), view(ga, sa), view(gb, sb), shape, out);
        ref.where(view(c, sa), view(a, sa), view(bv, sb), shape, expected);
        expectClose('where', down(out), expected, () => 0);
      }),
      { numRuns: 15 },
    );
  });

  it('binary kernels with a one-element scalar operand (a uniform of binaryScalar), every op, both sides', () => {
    fc.assert(
      fc.property(broadcastPair, fc.double({ min: -3, max: 3, noNaN: true }), ([shape, onesA, , seed], scalar) => {
        const n = size(shape);
        const aShape = shape.map((s, d) => (onesA[d] ? 1 : s));
        const a = random(size(aShape), seed, -3, 3);
        const s = Math.fround(seed % 2 === 0 ? Math.round(scalar) : scalar);
        if (seed % 2 === 0) a.forEach((v, i) => (a[i] = Math.round(v)));
        const sa = broadcastStrides(shape, onesA), zero = shape.map(() => 0);
        const ga = up(a), gs = gpuOut(1);
        b.fill(gs, s);
        for (const op of BINARY_OPS) {
          for (const scalarLeft of [false, true]) {
            const out = gpuOut(n), expected = refOut(n);
            const [x, y] = scalarLeft ? [view(gs, zero), view(ga, sa)] : [view(ga, sa), view(gs, zero)];
            b.binary(op, x, y, shape, out);
            const [rx, ry] = scalarLeft ? [view(Float32Array.of(s), zero), view(a, sa)] : [view(a, sa), view(Float32Array.of(s), zero)];
            ref.binary(op, rx, ry, shape, expected);
            expectClose(`binary ${op} ${scalarLeft ? 'scalar, tensor' : 'tensor, scalar'} over [${shape}]`, down(out), expected, relative(expected, op === 'pow' ? 2e-5 : 4e-7));
          }
        }
        expectClose('the scalar buffer reads back', down(gs), Float32Array.of(s), () => 0);
      }),
      { numRuns: 10 },
    );
  });
  return cases;
}
