import fc from 'fast-check';
import { cpuReferenceBackend } from '../../kernels/cpu/index';
import type { GpujsBackend, GpujsBuffer } from '../../kernels/gpujs/backend';
import {
  BINARY_OPS, DIFFERENTIABLE_UNARY_OPS, UNARY_OPS,
  type Backend, type Conv2dGeometry, type GroupNormGeometry, type MatmulGeometry, type Shape, type StridedView,
} from '../../src/backend/backend';
import { contiguousStrides } from '../../src/backend/strides';
import { Generator } from '../../src/index';

// Every primitive kernel of a gpu.js backend against kernels/cpu's reference, on random inputs
// drawn by fast-check: odd sizes, broadcasting, strided views, and buffers over 2^24 elements
// (where f32 index arithmetic would go wrong). Plain functions that throw, so that vitest
// (gpujs.test.ts) and the GPU machine's runner (bench/device.ts) share them.
//
// Tolerances: kernels that add up K terms in float32 may differ from the reference (which sums
// some reductions in float64) by a few float32 epsilons times the sum of |terms|; that sum is
// computed by running the reference on |inputs|. Elementwise ops are compared relative to |value|
// with WGSL's documented accuracy in mind (exp, log, sin: a few ulp; division 2.5 ulp).

type Ref = Float32Array;
const ref = cpuReferenceBackend;

export interface ParityCase {
  name: string;
  /** Throws, naming the kernel and the element, on a mismatch. */
  run: () => void;
}

function assert(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

const random = (n: number, seed: number, lo = -1, hi = 1): Float32Array => {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * g.uniform());
};
const abs = (x: Float32Array): Float32Array => x.map(Math.abs);
const size = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

function expectClose(what: string, actual: Float32Array, expected: Float32Array, tol: (i: number) => number): void {
  assert(actual.length === expected.length, `${what}: ${actual.length} elements, reference ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const err = Math.abs(a - e);
    if (!(err <= tol(i)) && a !== e) {
      throw new Error(`${what}: element ${i} of ${actual.length}: got ${a}, reference ${e}, |diff| ${err} > ${tol(i)}`);
    }
  }
}
const relative = (expected: Float32Array, rel: number, floor = 0) => (i: number) => rel * Math.abs(expected[i]!) + floor;
const summed = (magnitude: Float32Array, rel = 4e-6) => (i: number) => rel * magnitude[i]! + 1e-7;

export function gpujsParityCases(backend: GpujsBackend): ParityCase[] {
  const cases: ParityCase[] = [];
  const it = (name: string, run: () => void): void => void cases.push({ name, run });
  {
    const b = backend as unknown as Backend<GpujsBuffer>;
    const up = (x: Float32Array): GpujsBuffer => b.fromArray(x, 'float32');
    const down = (x: GpujsBuffer): Float32Array => b.read(x) as Float32Array;
    const gpuOut = (n: number): GpujsBuffer => b.alloc(n, 'float32');
    const refOut = (n: number): Ref => new Float32Array(n);
    const view = <B>(buffer: B, strides: readonly number[], offset = 0): StridedView<B> => ({ buffer, offset, strides });
    /** A summing kernel here and on the reference; the tolerance comes from the reference run on |inputs|. */
    const checkSummed = (what: string, n: number, here: (out: GpujsBuffer) => void, reference: (out: Ref, onAbs: boolean) => void): void => {
      const out = gpuOut(n), expected = refOut(n), mag = refOut(n);
      here(out);
      reference(expected, false);
      reference(mag, true);
      expectClose(what, down(out), expected, summed(mag));
    };
    const maybeAbs = (x: Float32Array, onAbs: boolean): Float32Array => (onAbs ? abs(x) : x);

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

    it('AdamW (packed outputs, read back as views) and axpby', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 700 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 50 }),
          fc.double({ min: 1e-5, max: 1e-1, noNaN: true }), fc.constantFrom(0, 0.01), fc.constantFrom(1, 0.37),
          (n, seed, step, lr, weightDecay, gradScale) => {
            const p = random(n, seed), g = random(n, seed + 1), m = random(n, seed + 2, -0.1, 0.1), v = random(n, seed + 3, 0, 0.01);
            const h = {
              lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, gradScale, biasCorrection1: 1 - 0.9 ** step, biasCorrection2: 1 - 0.999 ** step,
            };
            // Tolerances from the magnitudes of each formula's terms (m' may cancel), a few float32 ulps each.
            const tolerances = (p: Float32Array, m: Float32Array, v: Float32Array, m1: Float32Array, v1: Float32Array) => {
              const stepSize = lr / h.biasCorrection1;
              const tolM = (i: number) => 3e-7 * (Math.abs(m[i]!) * 0.9 + Math.abs(g[i]! * gradScale) * 0.1) + 1e-12;
              const tolV = (i: number) => 3e-7 * (v[i]! * 0.999 + (g[i]! * gradScale) ** 2 * 0.001) + 1e-15;
              const tolP = (i: number) => {
                const denom = Math.sqrt(v1[i]! / h.biasCorrection2) + h.eps;
                return 3e-7 * Math.abs(p[i]!) + 4e-6 * Math.abs((stepSize * m1[i]!) / denom) + (stepSize * (tolM(i) + 4e-6 * Math.abs(m1[i]!))) / denom;
              };
              return [tolP, tolM, tolV];
            };
            const here = b.adamw(up(p), up(g), up(m), up(v), h).map(down);
            const there = ref.adamw(p, g, m, v, h) as Float32Array[];
            const tol = tolerances(p, m, v, there[1]!, there[2]!);
            ['parameter', 'first moment', 'second moment'].forEach((what, k) => expectClose(`adamw ${what} (n ${n})`, here[k]!, there[k]!, tol[k]!));
            // a second step from the packed state (views as inputs), against the reference from the same state
            const [p1, m1, v1] = b.adamw(up(p), up(g), up(m), up(v), h);
            const state = [p1, m1, v1].map(down) as [Float32Array, Float32Array, Float32Array];
            const again = b.adamw(p1, up(g), m1, v1, h).map(down);
            const refAgain = ref.adamw(state[0], g, state[1], state[2], h) as Float32Array[];
            const tol2 = tolerances(state[0], state[1], state[2], refAgain[1]!, refAgain[2]!);
            ['parameter', 'first moment', 'second moment'].forEach((what, k) => expectClose(`adamw from views: ${what}`, again[k]!, refAgain[k]!, tol2[k]!));
            const out = gpuOut(n), expected = refOut(n);
            b.axpby(up(p), up(g), 0.999, 0.001, out);
            ref.axpby(p, g, 0.999, 0.001, expected);
            expectClose('axpby', down(out), expected, relative(expected, 4e-7, 1e-8));
          },
        ),
        { numRuns: 12 },
      );
    });

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

    it('conv2d forward and both gradients, any stride and padding', () => {
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 1, max: 3 }), cIn: fc.integer({ min: 1, max: 6 }), cOut: fc.integer({ min: 1, max: 7 }),
            h: fc.integer({ min: 1, max: 11 }), w: fc.integer({ min: 1, max: 11 }), k: fc.integer({ min: 1, max: 3 }),
            stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 2 }), seed: fc.integer({ min: 0, max: 1e6 }),
          }).filter((p) => p.h + 2 * p.pad >= p.k && p.w + 2 * p.pad >= p.k),
          (p) => {
            const outH = Math.floor((p.h + 2 * p.pad - p.k) / p.stride) + 1, outW = Math.floor((p.w + 2 * p.pad - p.k) / p.stride) + 1;
            const g: Conv2dGeometry = {
              n: p.n, cIn: p.cIn, h: p.h, w: p.w, cOut: p.cOut, kh: p.k, kw: p.k, strideH: p.stride, strideW: p.stride,
              padH: p.pad, padW: p.pad, outH, outW,
            };
            const x = random(p.n * p.cIn * p.h * p.w, p.seed), wt = random(p.cOut * p.cIn * p.k * p.k, p.seed + 1);
            const gy = random(p.n * p.cOut * outH * outW, p.seed + 2);
            const bias = random(p.cOut, p.seed + 3);
            checkSummed('conv2d', gy.length, (out) => b.conv2d(up(x), up(wt), null, out, g),
              (out, onAbs) => ref.conv2d(maybeAbs(x, onAbs), maybeAbs(wt, onAbs), null, out, g));
            checkSummed('conv2d with bias', gy.length, (out) => b.conv2d(up(x), up(wt), up(bias), out, g),
              (out, onAbs) => ref.conv2d(maybeAbs(x, onAbs), maybeAbs(wt, onAbs), maybeAbs(bias, onAbs), out, g));
            // the epilogue: per-image scales, a residual and a per-(image, channel) term
            const residual = random(gy.length, p.seed + 4), cs = random(p.n, p.seed + 5), rs = random(p.n, p.seed + 6), ch = random(p.n * p.cOut, p.seed + 7);
            for (const [what, e] of [
              ['residual', { residual, convScale: null, residualScale: null, channelAdd: null }],
              ['scales, residual, channel term', { residual, convScale: cs, residualScale: rs, channelAdd: ch }],
              ['channel term', { residual: null, convScale: null, residualScale: null, channelAdd: ch }],
            ] as const) {
              const on = (f: (x: Float32Array) => GpujsBuffer | Float32Array, onAbs = false) => (v: Float32Array | null) => (v ? f(onAbs ? abs(v) : v) : null);
              checkSummed(`conv2d epilogue (${what})`, gy.length,
                (out) => b.conv2d(up(x), up(wt), up(bias), out, g, {
                  residual: on(up)(e.residual) as GpujsBuffer | null, convScale: on(up)(e.convScale) as GpujsBuffer | null,
                  residualScale: on(up)(e.residualScale) as GpujsBuffer | null, channelAdd: on(up)(e.channelAdd) as GpujsBuffer | null,
                }),
                (out, onAbs) => ref.conv2d(maybeAbs(x, onAbs), maybeAbs(wt, onAbs), maybeAbs(bias, onAbs), out, g, {
                  residual: on((v) => v, onAbs)(e.residual) as Float32Array | null, convScale: on((v) => v, onAbs)(e.convScale) as Float32Array | null,
                  residualScale: on((v) => v, onAbs)(e.residualScale) as Float32Array | null, channelAdd: on((v) => v, onAbs)(e.channelAdd) as Float32Array | null,
                }));
            }
            checkSummed('conv2d grad input', x.length, (out) => b.conv2dGradInput(up(gy), up(wt), out, g),
              (out, onAbs) => ref.conv2dGradInput(maybeAbs(gy, onAbs), maybeAbs(wt, onAbs), out, g));
            checkSummed('conv2d grad weight', wt.length, (out) => b.conv2dGradWeight(up(x), up(gy), out, g),
              (out, onAbs) => ref.conv2dGradWeight(maybeAbs(x, onAbs), maybeAbs(gy, onAbs), out, g));
          },
        ),
        { numRuns: 15 },
      );
    });

    for (const silu of [false, true]) {
      it(`group norm forward and backward${silu ? ', fused with SiLU' : ''}`, () => {
        fc.assert(
          fc.property(
            fc.record({
              n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 4 }), cpg: fc.integer({ min: 1, max: 4 }),
              hw: fc.integer({ min: 1, max: 70 }), seed: fc.integer({ min: 0, max: 1e6 }),
            }),
            (p) => {
              const c = p.groups * p.cpg;
              const g: GroupNormGeometry = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5, silu };
              const nx = p.n * c * p.hw, ns = p.n * p.groups;
              const x = random(nx, p.seed, -2, 3), gamma = random(c, p.seed + 1), beta = random(c, p.seed + 2), gy = random(nx, p.seed + 3);
              const out = gpuOut(nx), stats = gpuOut(2 * ns);
              const rOut = refOut(nx), rStats = refOut(2 * ns);
              b.groupNorm(up(x), up(gamma), up(beta), out, stats, g);
              ref.groupNorm(x, gamma, beta, rOut, rStats, g);
              // normalised values are O(1); statistics are sums of count terms
              const count = p.cpg * p.hw;
              const st = down(stats);
              expectClose('group norm mean', st.subarray(0, ns), rStats.subarray(0, ns), () => 4e-6 * 3 + 1e-7);
              expectClose('group norm rstd', st.subarray(ns), rStats.subarray(ns), relative(rStats.subarray(ns), 4e-6 * Math.sqrt(count) + 1e-6));
              expectClose('group norm out', down(out), rOut, (i) => 2e-5 * (Math.abs(rOut[i]!) + 1));
              const gx = gpuOut(nx), gGamma = gpuOut(c), gBeta = gpuOut(c);
              const rGx = refOut(nx), rGGamma = refOut(c), rGBeta = refOut(c);
              b.groupNormBackward(up(gy), up(x), up(gamma), up(beta), up(rStats), gx, gGamma, gBeta, g);
              ref.groupNormBackward(gy, x, gamma, beta, rStats, rGx, rGGamma, rGBeta, g);
              const perChannel = p.n * p.hw;
              const rstdMax = Math.max(...rStats.subarray(ns));
              expectClose('group norm grad beta', down(gBeta), rGBeta, () => 4e-6 * perChannel + 1e-6);
              expectClose('group norm grad gamma', down(gGamma), rGGamma, () => 4e-6 * 3 * perChannel + 1e-6);
              expectClose('group norm grad input', down(gx), rGx, (i) => 2e-5 * (Math.abs(rGx[i]!) + rstdMax));
            },
          ),
          { numRuns: 15 },
        );
      });
    }

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

    it('buffers over 2^24 elements: every index stays exact', () => {
      const rows = 4097, cols = 4099; // 16,793,603 elements
      const n = rows * cols;
      assert(n > 2 ** 24, 'the test buffer is over 2^24 elements');
      // distinct values in every position: an index off by one shows
      const x = Float32Array.from({ length: n }, (_, i) => (i % 8191) - 4095);
      const gx = up(x);
      const own = [cols, 1];
      const check = (what: string, out: GpujsBuffer, expected: Float32Array, tol: (i: number) => number = () => 0): void =>
        expectClose(`${what} (${expected.length} elements)`, down(out), expected, tol);

      let out = gpuOut(n), expected = refOut(n);
      b.unary('neg', gx, out);
      ref.unary('neg', x, expected);
      check('unary', out, expected);

      const row = random(cols, 3);
      out = gpuOut(n);
      b.binary('add', view(gx, own), view(up(row), [0, 1]), [rows, cols], out);
      ref.binary('add', view(x, own), view(row, [0, 1]), [rows, cols], expected);
      check('binary with a broadcast row', out, expected);

      out = gpuOut(n);
      b.copy(view(gx, [1, cols]), [cols, rows], view(out, [rows, 1]));
      ref.copy(view(x, [1, cols]), [cols, rows], view(expected, [rows, 1]));
      check('transpose', out, expected);

      const padded = [rows + 1, cols + 2];
      const np = padded[0]! * padded[1]!;
      out = gpuOut(np);
      const rPad = refOut(np);
      b.copy(view(gx, own), [rows, cols], view(out, [padded[1]!, 1], padded[1]! + 1));
      ref.copy(view(x, own), [rows, cols], view(rPad, [padded[1]!, 1], padded[1]! + 1));
      check('pad', out, rPad);

      const colSums = gpuOut(cols), rCol = refOut(cols), mag = refOut(cols);
      b.reduce('sum', gx, [rows, cols], [0], colSums);
      ref.reduce('sum', x, [rows, cols], [0], rCol);
      ref.reduce('sum', abs(x), [rows, cols], [0], mag);
      check('column sums', colSums, rCol, summed(mag));
      const total = gpuOut(1), rTotal = refOut(1), rMag = refOut(1);
      b.reduce('sum', gx, [n], [0], total);
      ref.reduce('sum', x, [n], [0], rTotal);
      ref.reduce('sum', abs(x), [n], [0], rMag);
      check('total', total, rTotal, summed(rMag));
    });

  }
  return cases;
}
