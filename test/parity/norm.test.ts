import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unaryGrad } from '../../kernels/cpu/elementwise';
import { cpuBackend, cpuReferenceBackend } from '../../kernels/cpu/index';
import { groupNormBackwardInto, groupNormInto } from '../../kernels/cpu/norm';
import { siluF32 } from '../../kernels/cpu/wasm/activation';
import { groupNormBackwardF32, groupNormF32, groupNormSiluGradF32 } from '../../kernels/cpu/wasm/norm';
import { place, random } from '../helpers/wasm-parity';

// The WebAssembly group norm kernels (kernels/cpu/wasm/norm.ts) against the reference loops (kernels/cpu/norm.ts).

/** Group norm cases: geometry up to these sizes (hw up to 300: tails past whole vectors and chunks), values offset. */
const groupNormCases = (most: { groups: number; cpg: number; offset: number }) => fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: most.groups }), cpg: fc.integer({ min: 1, max: most.cpg }),
  hw: fc.integer({ min: 1, max: 300 }), offset: fc.double({ min: -most.offset, max: most.offset, noNaN: true }), seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('WebAssembly group norm matches the reference', () => {
  // The reference sums in float64; the wasm kernel in float32 chunks of 64 added in float64, so
  // mean and rstd agree to a few float32 ulps of the values' scale, and each output to that error
  // carried through (x - mean) rstd gamma + beta.
  it('over random geometry (tails that are not whole vectors or chunks), offset values', () => {
    fc.assert(
      fc.property(
        groupNormCases({ groups: 5, cpg: 5, offset: 10 }),
        fc.boolean(),
        fc.boolean(),
        (p, resident, silu) => {
          const c = p.groups * p.cpg, size = p.n * c * p.hw, items = p.n * p.groups;
          const g = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5, silu };
          const x = random(size, p.seed).map((v) => v + p.offset), gamma = random(c, p.seed + 1), beta = random(c, p.seed + 2);
          const [out, ref] = [place(new Float32Array(size).fill(Number.NaN), resident), new Float32Array(size)];
          const [mean, rstd, refMean, refRstd] = [0, 1, 2, 3].map(() => new Float32Array(items)) as [Float32Array, Float32Array, Float32Array, Float32Array];
          groupNormF32(place(x, resident), place(gamma, resident), place(beta, resident), out, mean, rstd, g);
          groupNormInto(x, gamma, beta, ref, refMean, refRstd, { ...g, silu: false });
          // with SiLU: the wasm kernel's own silu of its own normalised values, bit for bit
          if (silu) {
            const plain = new Float32Array(size), again = new Float32Array(size);
            groupNormF32(x, gamma, beta, plain, new Float32Array(items), new Float32Array(items), { ...g, silu: false });
            siluF32(plain, again);
            expect(out).toEqual(again);
            out.set(plain);
          }
          const scale = Math.max(...Array.from(x, Math.abs));
          for (let i = 0; i < items; i++) {
            if (!(Math.abs(mean[i]! - refMean[i]!) <= 1e-6 * scale)) throw new Error(`mean ${i}: ${mean[i]} vs ${refMean[i]}`);
            if (!(Math.abs(rstd[i]! - refRstd[i]!) <= 1e-5 * refRstd[i]!)) throw new Error(`rstd ${i}: ${rstd[i]} vs ${refRstd[i]}`);
          }
          for (let i = 0; i < size; i++) {
            const item = Math.floor(i / (p.cpg * p.hw)), ch = Math.floor(i / p.hw) % c;
            const tol = 1e-5 * ((scale + Math.abs(refMean[item]!)) * refRstd[item]! * Math.abs(gamma[ch]!) + Math.abs(beta[ch]!)) + 1e-7;
            if (!(Math.abs(out[i]! - ref[i]!) <= tol)) throw new Error(`element ${i}: wasm ${out[i]}, reference ${ref[i]}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('WebAssembly group norm backward matches the reference', () => {
  // The reference sums in float64. The kernel sums dy and dy xhat per channel in float32 lanes over
  // chunks of 64 values (16 adds a lane), each chunk added in float64: error <= 16 float32 epsilon of
  // the sum of |terms|. dx = rstd (dy gamma - mean(dy gamma) - xhat mean(dy gamma xhat)) in float32
  // carries those errors and a few roundings of each term.
  it('over random geometry (tails that are not whole vectors or chunks, groups of one channel), offset values', () => {
    const eps32 = 2 ** -24;
    fc.assert(
      fc.property(
        groupNormCases({ groups: 4, cpg: 4, offset: 5 }),
        fc.boolean(),
        (p, resident) => {
          const c = p.groups * p.cpg, size = p.n * c * p.hw, items = p.n * p.groups, count = p.cpg * p.hw;
          const g = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5 };
          const x = random(size, p.seed).map((v) => v + p.offset), gamma = random(c, p.seed + 1), gy = random(size, p.seed + 2);
          const out = new Float32Array(size), mean = new Float32Array(items), rstd = new Float32Array(items);
          groupNormInto(x, gamma, new Float32Array(c), out, mean, rstd, g);
          const [gx, refGx] = [place(new Float32Array(size).fill(Number.NaN), resident), new Float32Array(size)];
          const [gGamma, gBeta, refGamma, refBeta] = [0, 1, 2, 3].map(() => new Float32Array(c)) as Float32Array[];
          const [r, s] = [(v: Float32Array) => place(v, resident), place(mean.slice(), resident)];
          groupNormBackwardF32(r(gy), r(x), r(gamma), s, r(rstd), gx, gGamma!, gBeta!, g);
          groupNormBackwardInto(gy, x, gamma, mean, rstd, refGx, refGamma!, refBeta!, g);
          const xhat = (i: number) => { const item = Math.floor(i / count); return (x[i]! - mean[item]!) * rstd[item]!; };
          // sums of |terms| per channel (over images and positions) and per group (over its channels)
          const absDy = new Float64Array(c), absDyX = new Float64Array(c), groupD = new Float64Array(items), groupDX = new Float64Array(items);
          for (let i = 0; i < size; i++) {
            const ch = Math.floor(i / p.hw) % c, item = Math.floor(i / count);
            absDy[ch] += Math.abs(gy[i]!);
            absDyX[ch] += Math.abs(gy[i]! * xhat(i));
            groupD[item] += Math.abs(gy[i]! * gamma[ch]!) / count;
            groupDX[item] += Math.abs(gy[i]! * gamma[ch]! * xhat(i)) / count;
          }
          for (let ch = 0; ch < c; ch++) {
            if (!(Math.abs(gBeta![ch]! - refBeta![ch]!) <= 20 * eps32 * absDy[ch]! + 1e-7)) throw new Error(`dbeta ${ch}: ${gBeta![ch]} vs ${refBeta![ch]}`);
            if (!(Math.abs(gGamma![ch]! - refGamma![ch]!) <= 40 * eps32 * absDyX[ch]! + 1e-7)) throw new Error(`dgamma ${ch}: ${gGamma![ch]} vs ${refGamma![ch]}`);
          }
          for (let i = 0; i < size; i++) {
            const item = Math.floor(i / count), ch = Math.floor(i / p.hw) % c, r = rstd[item]!;
            const tol = 40 * eps32 * r * (Math.abs(gy[i]! * gamma[ch]!) + groupD[item]! + Math.abs(xhat(i)) * groupDX[item]!) + 1e-7;
            if (!(Math.abs(gx[i]! - refGx[i]!) <= tol)) throw new Error(`dx ${i}: wasm ${gx[i]}, reference ${refGx[i]} (tolerance ${tol})`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("WebAssembly group norm's SiLU gradient matches the reference", () => {
  // d = dy silu'(y) with y recomputed from the forward's float32 mean and rstd: y differs from the
  // reference's by a few float32 roundings of (|x| + |mean|) rstd |gamma| + |beta| (silu' moves at most
  // 0.5 per unit of y), plus silu''s own rounding (see the SiLU test).
  it('over random geometry (tails that are not whole vectors), offset values', () => {
    const eps32 = 2 ** -24;
    fc.assert(
      fc.property(groupNormCases({ groups: 4, cpg: 4, offset: 5 }), fc.boolean(), (p, resident) => {
        const c = p.groups * p.cpg, size = p.n * c * p.hw, items = p.n * p.groups, count = p.cpg * p.hw;
        const g = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5 };
        const x = random(size, p.seed).map((v) => v + p.offset), gamma = random(c, p.seed + 1), beta = random(c, p.seed + 2), gy = random(size, p.seed + 3);
        const y = new Float32Array(size), mean = new Float32Array(items), rstd = new Float32Array(items);
        groupNormInto(x, gamma, beta, y, mean, rstd, g);
        const d = place(new Float32Array(size).fill(Number.NaN), resident), ref = new Float32Array(size);
        const r = (v: Float32Array) => place(v, resident);
        groupNormSiluGradF32(r(gy), r(x), r(gamma), r(beta), r(mean), r(rstd), d, g);
        unaryGrad('silu', y, gy, ref);
        for (let i = 0; i < size; i++) {
          const item = Math.floor(i / count), ch = Math.floor(i / p.hw) % c;
          const yError = 8 * eps32 * ((Math.abs(x[i]!) + Math.abs(mean[item]!)) * rstd[item]! * Math.abs(gamma[ch]!) + Math.abs(beta[ch]!));
          const tol = Math.abs(gy[i]!) * (0.5 * yError + 6e-8 * (Math.abs(y[i]!) + 4) * 1.1) + 1e-30;
          if (!(Math.abs(d[i]! - ref[i]!) <= tol)) throw new Error(`d ${i}: wasm ${d[i]}, reference ${ref[i]} (tolerance ${tol})`);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('the cpu backend\'s group norm matches the reference backend', () => {
  // Group norm (+ SiLU) backward (the output recomputed in wasm, silu' in wasm, then the wasm
  // backward): against cpu-reference's loops.
  it('group norm with and without SiLU, forward and backward, over sizes past the wasm threshold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }), fc.boolean(), (n, groups, cpg, seed, silu) => {
        const c = groups * cpg, hw = 2100, size = n * c * hw, items = n * groups;
        const g = { n, c, hw, groups, eps: 1e-5, silu };
        const x = random(size, seed), gamma = random(c, seed + 1), beta = random(c, seed + 2), gy = random(size, seed + 3);
        const run = (be: typeof cpuBackend | typeof cpuReferenceBackend) => {
          const out = new Float32Array(size), stats = new Float32Array(2 * items);
          be.groupNorm(x, gamma, beta, out, stats, g);
          const gx = new Float32Array(size), gGamma = new Float32Array(c), gBeta = new Float32Array(c);
          be.groupNormBackward(gy, x, gamma, beta, stats, gx, gGamma, gBeta, g);
          return [out, gx, gGamma, gBeta];
        };
        const fast = run(cpuBackend), ref = run(cpuReferenceBackend);
        ['out', 'grad x', 'grad gamma', 'grad beta'].forEach((what, k) => {
          const scale = Math.max(...Array.from(ref[k]!, Math.abs));
          ref[k]!.forEach((v, i) => {
            // float32 statistics (wasm) against float64 ones, carried through sums of up to cpg*hw terms
            if (!(Math.abs(fast[k]![i]! - v) <= 2e-5 * scale + 1e-6)) throw new Error(`${what} ${i}: ${fast[k]![i]} vs ${v}`);
          });
        });
      }),
      { numRuns: 8 },
    );
  });
});
