import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conv2dGradInput, conv2dGradWeight, conv2dNoBias } from '../../kernels/cpu/conv';
import { cpuBackend, cpuReferenceBackend } from '../../kernels/cpu/index';
import { gradInputAsConv } from '../../kernels/cpu/wasm/conv';
import {
  CONV_METHODS, CONV2D_GRAD_INPUT_PATHS, CONV2D_GRAD_WEIGHT_PATHS, CONV2D_PATHS, convPathFor, type ConvPath,
} from '../../kernels/cpu/wasm/conv-paths';
import { conv2dDirectF32 } from '../../kernels/cpu/wasm/direct-conv';
import { getRuntime } from '../../kernels/cpu/wasm/runtime';
import { conv2dWinogradF32, winogradTermsApply } from '../../kernels/cpu/wasm/winograd';
import { conv2dGradWeightWinogradF32 } from '../../kernels/cpu/wasm/winograd-grad';
import type { Conv2dGeometry, TypedArray } from '../../src/backend/backend';
import { abs, expectClose, expectKernelClose, place, random } from '../helpers/wasm-parity';

// The convolution paths of kernels/cpu/wasm/conv-paths.ts against the reference loops
// (kernels/cpu/conv.ts): every path of every list on the geometries it computes (a path without
// cases below fails), the choice among them as the cpu backend makes it, and the bias and epilogue.

type Case = Conv2dGeometry & { seed: number };
type ReferenceConv = (a: TypedArray, b: TypedArray, out: TypedArray, g: Conv2dGeometry) => void;

/** Each path list with its reference and its operands' sizes, in the Backend method's order. */
const OPS = {
  conv2d: { ...CONV_METHODS.conv2d, reference: conv2dNoBias },
  conv2dGradWeight: { ...CONV_METHODS.conv2dGradWeight, reference: conv2dGradWeight },
  conv2dGradInput: { ...CONV_METHODS.conv2dGradInput, reference: conv2dGradInput },
} satisfies Record<keyof typeof CONV_METHODS, { reference: ReferenceConv }>;

/** Any small geometry: kernels 1-3, strides 1-2, paddings 0-2, ragged sides. */
const anyConv = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }), cIn: fc.integer({ min: 1, max: 9 }), cOut: fc.integer({ min: 1, max: 11 }),
    h: fc.integer({ min: 1, max: 12 }), w: fc.integer({ min: 1, max: 12 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
    strideH: fc.integer({ min: 1, max: 2 }), strideW: fc.integer({ min: 1, max: 2 }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((p) => ({ ...p, outH: Math.floor((p.h + 2 * p.padH - p.kh) / p.strideH) + 1, outW: Math.floor((p.w + 2 * p.padW - p.kw) / p.strideW) + 1 }))
  .filter((p) => p.outH >= 1 && p.outW >= 1);

/** A 3x3 stride-1 convolution's geometry from its sizes and paddings (Winograd's and the direct kernels' cases). */
const stride1Conv3x3 = <P extends { h: number; w: number; padH: number; padW: number }>(p: P) =>
  ({ ...p, kh: 3, kw: 3, strideH: 1, strideW: 1, outH: p.h + 2 * p.padH - 2, outW: p.w + 2 * p.padW - 2 });

/** Ragged 3x3 stride-1 geometries: batch and channels drawn by the caller, sides 1 to `side`, paddings 0-2, a seed. */
const stride1Conv3x3Cases = (draw: { n: fc.Arbitrary<number>; cIn: fc.Arbitrary<number>; cOut: fc.Arbitrary<number>; side: number }) => fc
  .record({
    n: draw.n, cIn: draw.cIn, cOut: draw.cOut,
    h: fc.integer({ min: 1, max: draw.side }), w: fc.integer({ min: 1, max: draw.side }), padH: fc.integer({ min: 0, max: 2 }), padW: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map(stride1Conv3x3)
  .filter((p) => p.outH >= 1 && p.outW >= 1);

// Ragged widths (not whole f32x4 or 16-column blocks), one to four channels on one side and up to
// 20, or 65, on the other, batches split unevenly over the threads; padding 1 (what the kernels compute).
const directCases = fc
  .record({
    n: fc.integer({ min: 1, max: 5 }), many: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant(65)), few: fc.integer({ min: 1, max: 4 }),
    fewIn: fc.boolean(), h: fc.integer({ min: 1, max: 21 }), w: fc.integer({ min: 1, max: 37 }), seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((p) => stride1Conv3x3({ n: p.n, cIn: p.fewIn ? p.few : p.many, cOut: p.fewIn ? p.many : p.few, h: p.h, w: p.w, padH: 1, padW: 1, seed: p.seed }));

/** The geometries each path is checked on, by `op/path`, and how many. */
const CASES: Record<string, { geometry: fc.Arbitrary<Case>; runs: number }> = {
  'conv2d/direct': { geometry: directCases, runs: 40 },
  // outputs that are not whole 2x2 tiles or whole groups of 4 tiles, channels past one K block (256), paddings 0-2
  'conv2d/winograd': {
    geometry: stride1Conv3x3Cases({ n: fc.integer({ min: 1, max: 3 }), cIn: fc.oneof(fc.integer({ min: 8, max: 40 }), fc.constant(261)), cOut: fc.integer({ min: 1, max: 13 }), side: 19 }),
    runs: 60,
  },
  'conv2d/im2col': { geometry: anyConv, runs: 60 },
  'conv2dGradWeight/direct': { geometry: directCases, runs: 40 },
  // tiles past one K block of the GEMM depth (256) in one image and across grouped small images,
  // channels that are not whole panels (4 rows, 8 columns), one output channel
  'conv2dGradWeight/winograd': {
    geometry: stride1Conv3x3Cases({
      n: fc.integer({ min: 1, max: 5 }), cIn: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant(67)), cOut: fc.oneof(fc.integer({ min: 1, max: 13 }), fc.constant(1)), side: 40,
    }),
    runs: 40,
  },
  'conv2dGradWeight/im2col': { geometry: anyConv, runs: 60 },
  'conv2dGradInput/as-forward': { geometry: anyConv.filter(gradInputAsConv), runs: 60 },
};

/** `op` by the first of its paths that applies (throws where none does: the reference's case). */
function byChoice(op: keyof typeof OPS, g: Conv2dGeometry) {
  return (a: Float32Array, b: Float32Array, out: Float32Array): void => {
    const path = convPathFor(OPS[op].paths, g);
    if (!path) throw new Error(`no ${op} path applies to ${JSON.stringify(g)}`);
    path.run(a, b, out, g);
  };
}

for (const [op, { paths, reference, sizes }] of Object.entries(OPS)) {
  describe(`${op}: every wasm path matches the reference`, () => {
    for (const path of paths) {
      it(`${path.name}, over ragged geometry, operands resident or copied, threads splitting the batch`, () => {
        const cases = CASES[`${op}/${path.name}`];
        if (!cases) throw new Error(`no geometry cases for the ${op} path '${path.name}': add them to CASES`);
        fc.assert(
          fc.property(cases.geometry, fc.boolean(), (g, resident) => {
            expect(path.supports(g)).toBe(true);
            const [na, nb, nOut] = sizes(g);
            expectKernelClose(nOut, random(na, g.seed), random(nb, g.seed + 1), resident, (a, b, o) => path.run(a, b, o, g), (a, b, o) => reference(a, b, o, g));
          }),
          { numRuns: cases.runs },
        );
      });
    }
  });
}

describe('the choice among the convolution paths', () => {
  it('has cases for every path and none for a path that is gone', () => {
    const names = Object.entries(OPS).flatMap(([op, { paths }]) => paths.map((p) => `${op}/${p.name}`));
    expect(Object.keys(CASES).sort()).toEqual(names.sort());
  });

  it('forward and weight gradient always have a path; the input gradient where padding < kernel', () => {
    fc.assert(
      fc.property(anyConv, (g) => {
        expect(convPathFor(CONV2D_PATHS, g)).toBeDefined();
        expect(convPathFor(CONV2D_GRAD_WEIGHT_PATHS, g)).toBeDefined();
        expect(convPathFor(CONV2D_GRAD_INPUT_PATHS, g) !== undefined).toBe(gradInputAsConv(g));
      }),
      { numRuns: 200 },
    );
  });

  it('over random geometry, the path chosen matches the reference (forward, weight and input gradients)', () => {
    fc.assert(
      fc.property(anyConv, fc.boolean(), (g, resident) => {
        const [xSize, wSize, ySize] = CONV_METHODS.conv2d.sizes(g);
        const x = random(xSize, g.seed), w = random(wSize, g.seed + 1), gy = random(ySize, g.seed + 2);
        expectKernelClose(gy.length, x, w, resident, byChoice('conv2d', g), (a, b, o) => conv2dNoBias(a, b, o, g));
        expectKernelClose(w.length, x, gy, resident, byChoice('conv2dGradWeight', g), (a, b, o) => conv2dGradWeight(a, b, o, g));
        if (gradInputAsConv(g)) expectKernelClose(x.length, gy, w, resident, byChoice('conv2dGradInput', g), (a, b, o) => conv2dGradInput(a, b, o, g));
      }),
      { numRuns: 60 },
    );
  });

  const conv3x3 = (n: number, cIn: number, cOut: number, side: number): Conv2dGeometry =>
    ({ n, cIn, h: side, w: side, cOut, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: side, outW: side });
  const chosen = (paths: readonly ConvPath[], g: Conv2dGeometry) => convPathFor(paths, g)?.name;

  it('takes the paths measured fastest on the models\' convolutions (bench/conv-paths.ts)', () => {
    // the SimpleUNet's last convolution 65 -> 1 and a 1 -> 32 one: direct, but not the wide ones
    const last = conv3x3(3, 65, 1, 32);
    expect([chosen(CONV2D_PATHS, last), chosen(CONV2D_GRAD_WEIGHT_PATHS, last)]).toEqual(['direct', 'direct']);
    expect([chosen(CONV2D_PATHS, conv3x3(3, 1, 32, 32)), chosen(CONV2D_GRAD_WEIGHT_PATHS, conv3x3(3, 1, 32, 32))]).toEqual(['im2col', 'direct']);
    expect([chosen(CONV2D_PATHS, { ...last, cOut: 3 }), chosen(CONV2D_GRAD_WEIGHT_PATHS, { ...last, cOut: 3 })]).toEqual(['winograd', 'direct']);
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, { ...last, cOut: 5 })).toBe('winograd');
    expect(chosen(CONV2D_PATHS, { ...last, padH: 0, padW: 0, outH: 30, outW: 30 })).toBe('winograd');
    expect(chosen(CONV2D_PATHS, { ...last, strideH: 2, outH: 16 })).toBe('im2col');
    // Winograd forward for 3x3 stride 1 with at least 8 input channels
    const wide = conv3x3(3, 32, 64, 8);
    expect([chosen(CONV2D_PATHS, wide), chosen(CONV2D_PATHS, { ...wide, cIn: 1 }), chosen(CONV2D_PATHS, { ...wide, strideH: 2, outH: 4 })]).toEqual(['winograd', 'im2col', 'im2col']);
    // Winograd weight gradient: outputs of 16x16 and up, or 8x8 and up with 512 tiles in all
    const g = conv3x3(3, 16, 8, 16);
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, g)).toBe('winograd');
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, conv3x3(3, 16, 8, 8))).toBe('im2col'); // 3 x 16 tiles: too few
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, conv3x3(32, 16, 8, 8))).toBe('winograd'); // 32 x 16 = 512 tiles
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, conv3x3(32, 16, 8, 6))).toBe('im2col');
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, { ...g, cIn: 8, cOut: 8 })).toBe('winograd');
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, { ...g, h: 256, w: 1, outH: 256, outW: 1 })).toBe('im2col');
    expect(chosen(CONV2D_GRAD_WEIGHT_PATHS, { ...g, strideH: 2, outH: 8 })).toBe('im2col');
  });

  it('is what the cpu backend runs, bit for bit, and the paths that also compute it agree', () => {
    // the U-Net's 64 -> 64 at 16x16, a wide 32 -> 64 at 8x8, the Winograd weight gradient, the direct 65 -> 1 and 1 -> 32
    for (const g of [conv3x3(2, 64, 64, 16), conv3x3(3, 32, 64, 8), conv3x3(3, 16, 8, 16), conv3x3(3, 65, 1, 32), conv3x3(3, 1, 32, 32)]) {
      for (const [op, { paths, sizes, reference }] of Object.entries(OPS)) {
        const [na, nb, nOut] = sizes(g);
        const a = random(na, 5), b = random(nb, 6);
        const viaBackend = new Float32Array(nOut), viaChoice = new Float32Array(nOut), mag = new Float32Array(nOut);
        if (op === 'conv2d') cpuBackend.conv2d(a, b, null, viaBackend, g);
        else cpuBackend[op as 'conv2dGradWeight' | 'conv2dGradInput'](a, b, viaBackend, g);
        convPathFor(paths, g)!.run(a, b, viaChoice, g);
        expect(viaBackend).toEqual(viaChoice);
        const ref = new Float32Array(nOut);
        reference(a, b, ref, g);
        reference(abs(a), abs(b), mag, g);
        expectClose(viaChoice, ref, mag);
        for (const other of paths.filter((p) => p.supports(g))) {
          const viaOther = new Float32Array(nOut);
          other.run(a, b, viaOther, g);
          expectClose(viaOther, viaChoice, mag);
        }
      }
    }
  });

  it('the kernels refuse what they do not compute', () => {
    const g = conv3x3(1, 16, 8, 8);
    const none = new Float32Array(0);
    expect(() => conv2dDirectF32(none, none, none, { ...g, kh: 5, kw: 5 })).toThrow(/3x3 kernel/);
    expect(() => conv2dGradWeightWinogradF32(none, none, none, { ...g, kh: 5, kw: 5 })).toThrow(/3x3 kernel/);
    expect(() => CONV2D_GRAD_INPUT_PATHS[0]!.run(none, none, none, { ...g, padH: 3 })).toThrow(/padding < kernel size/);
  });
});

describe('the Winograd weight gradient groups small images', () => {
  it('into one GEMM depth over several K blocks, the last group smaller, accumulating', () => {
    // 22x48 outputs: 11 x 24 = 264 tiles, so two images per group (depth 528: three K blocks, the
    // last 16 deep); 2 threads + 1 images leave a thread three: a group of two, then one accumulating
    const g = stride1Conv3x3({ n: 2 * getRuntime().threads + 1, cIn: 9, h: 22, w: 48, cOut: 5, padH: 1, padW: 1 });
    const [xSize, wSize, ySize] = CONV_METHODS.conv2d.sizes(g);
    const x = random(xSize, 11), gy = random(ySize, 12);
    expectKernelClose(wSize, x, gy, false, (a, b, o) => conv2dGradWeightWinogradF32(a, b, o, g), (a, b, o) => conv2dGradWeight(a, b, o, g));
  });
});

describe('the cpu backend\'s bias and epilogue', () => {
  it('conv2d with its bias and epilogue in the Winograd output transform: as the separate float32 passes round them, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }), cIn: fc.integer({ min: 8, max: 12 }), cOut: fc.integer({ min: 1, max: 6 }),
          rows: fc.integer({ min: 1, max: 5 }), eights: fc.integer({ min: 1, max: 2 }),
          present: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          const [h, w] = [2 * p.rows, 8 * p.eights];
          const g: Conv2dGeometry = { n: p.n, cIn: p.cIn, h, w, cOut: p.cOut, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: h, outW: w };
          expect(winogradTermsApply(g)).toBe(true);
          const size = p.n * p.cOut * h * w, hw = h * w;
          const maybe = (k: number, count: number) => (p.present[k] ? place(random(count, p.seed + 10 + k), p.resident) : null);
          const terms = { bias: maybe(0, p.cOut), convScale: maybe(1, p.n), residual: maybe(2, size), residualScale: p.present[2] ? maybe(3, p.n) : null, channelAdd: maybe(4, p.n * p.cOut) };
          const x = place(random(p.n * p.cIn * hw, p.seed), p.resident), wt = place(random(p.cOut * p.cIn * 9, p.seed + 1), p.resident);
          const fused = place(new Float32Array(size).fill(Number.NaN), p.resident), plain = new Float32Array(size);
          conv2dWinogradF32(x, wt, fused, g, terms);
          conv2dWinogradF32(x, wt, plain, g);
          const f32 = Math.fround;
          const expected = plain.map((v, i) => {
            const b = Math.floor(i / (p.cOut * hw)), co = Math.floor(i / hw) % p.cOut;
            let y = terms.bias ? f32(v + terms.bias[co]!) : v;
            if (terms.convScale) y = f32(y * terms.convScale[b]!);
            if (terms.residual) y = f32(y + (terms.residualScale ? f32(terms.residual[i]! * terms.residualScale[b]!) : terms.residual[i]!));
            if (terms.channelAdd) y = f32(y + terms.channelAdd[b * p.cOut + co]!);
            return y;
          });
          expect(Array.from(fused)).toEqual(Array.from(expected));
        },
      ),
      { numRuns: 40 },
    );
    expect(winogradTermsApply({ n: 1, cIn: 8, h: 8, w: 12, cOut: 1, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 8, outW: 12 })).toBe(false);
  });

  it('conv2d with a bias and every epilogue term (fused into Winograd at 8x16, separate passes at 12x11 and after the direct 65 -> 1)', () => {
    for (const [n, cIn, cOut, h, w] of [[3, 8, 5, 12, 11], [3, 8, 5, 8, 16], [3, 65, 1, 8, 16]] as const) {
      const g: Conv2dGeometry = { n, cIn, h, w, cOut, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: h, outW: w };
      const x = random(n * cIn * h * w, 1), wt = random(cOut * cIn * 9, 2), bias = random(cOut, 3);
      const size = n * cOut * h * w;
      const e = { residual: random(size, 4), convScale: random(n, 5), residualScale: random(n, 6), channelAdd: random(n * cOut, 7) };
      const fast = new Float32Array(size), ref = new Float32Array(size);
      cpuBackend.conv2d(x, wt, bias, fast, g, e);
      cpuReferenceBackend.conv2d(x, wt, bias, ref, g, e);
      const scale = Math.max(...Array.from(ref, Math.abs));
      ref.forEach((v, i) => expect(Math.abs(fast[i]! - v)).toBeLessThanOrEqual(1e-5 * scale));
    }
  });
});
