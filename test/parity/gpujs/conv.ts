import fc from 'fast-check';
import type { GpujsBackend, GpujsBuffer } from '../../../kernels/gpujs/backend';
import type { Conv2dGeometry } from '../../../src/backend/backend';
import { abs, caseList, onGpujs, ref, random, type ParityCase } from './helpers';

// The convolution kernels (kernels/gpujs/conv.ts): forward with its bias and epilogue, and both gradients.

export function convCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, checkSummed, maybeAbs } = onGpujs(backend);

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
  return cases;
}
