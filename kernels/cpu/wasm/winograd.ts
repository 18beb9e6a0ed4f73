import type { Conv2dGeometry } from '../../../src/backend/backend';
import { ceilTo, split } from './ranges';
import { MR, NR } from './gemm-module';
import { getRuntime } from './runtime';

const GEMM_WIDTH = 256;

/**
 * Whether conv2dWinogradF32 applies: a 3x3 kernel at stride 1 with padding < 3, and enough input
 * channels for its 16 GEMMs (depth cIn) to beat im2col (depth 9 cIn).
 */
export function winogradApplies(g: Conv2dGeometry): boolean {
  return winogradGeometry(g) && g.cIn >= 8;
}

/**
 * The 2x2 output tiles both Winograd kernels work on: tilesY x tilesX, tilesX a multiple of 4
 * (the transforms take four tiles per f32x4), so the padded output is 2 tilesY x 2 tilesX.
 */
export function winogradTiles(outH: number, outW: number): { tilesY: number; tilesX: number } {
  return { tilesY: Math.ceil(outH / 2), tilesX: ceilTo(Math.ceil(outW / 2), 4) };
}

/** The geometry both Winograd kernels (forward and weight gradient) compute: 3x3, stride 1, padding <= 2. */
export function winogradGeometry(g: Conv2dGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.padH <= 2 && g.padW <= 2;
}

/** What the output transform can add and scale (Backend.conv2d's bias and ConvEpilogue); absent terms null. */
export interface ConvTerms {
  bias: Float32Array | null;
  convScale: Float32Array | null;
  residual: Float32Array | null;
  residualScale: Float32Array | null;
  channelAdd: Float32Array | null;
}

/** Whether conv2dWinogradF32 can apply ConvTerms: its output has no padding (whole 2x2 tiles, a multiple of 8 columns). */
export function winogradTermsApply(g: Conv2dGeometry): boolean {
  return winogradApplies(g) && wholeTiles(g);
}

/** Whether the output is whole tiles: the padded output is the output. */
function wholeTiles(g: Conv2dGeometry): boolean {
  const { tilesY, tilesX } = winogradTiles(g.outH, g.outW);
  return 2 * tilesY === g.outH && 2 * tilesX === g.outW;
}

/**
 * Stride-1 3x3 conv2d by Winograd F(2x2, 3x3) (winograd-module.ts), images split across threads.
 * Works for any h, w and padding <= 2: tiles past the output are computed on zeros and dropped.
 * With `terms` (only where winogradTermsApply): out = ((conv + bias) convScale + residual
 * residualScale) + channelAdd, in the output transform.
 */
export function conv2dWinogradF32(x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry, terms?: ConvTerms): void {
  if (!winogradApplies(g)) throw new Error('conv2dWinogradF32: needs a 3x3 kernel, stride 1, padding <= 2 and cIn >= 8.');
  if (terms && !winogradTermsApply(g)) throw new Error('conv2dWinogradF32: bias and epilogue terms need an output of whole tiles (even rows, columns a multiple of 8).');
  const rt = getRuntime();
  const { n, cIn, cOut, h, w: width, outH, outW } = g;
  const { tilesY, tilesX } = winogradTiles(outH, outW);
  const outHp = 2 * tilesY, outWp = 2 * tilesX;
  // threads take whole images; with fewer images than threads, each takes all of them and a
  // share of the output channels (row panels of U), redoing the images' input transform
  const mp = ceilTo(cOut, MR), byImages = n >= rt.threads;
  const ranges = byImages ? split(n, rt.threads) : [[0, n] as [number, number]];
  const parts = byImages ? ranges.map(([b0, b1]) => ({ b0, b1, mt0: 0, mt1: mp / MR })) : split(mp / MR, rt.threads).map(([mt0, mt1]) => ({ b0: 0, b1: n, mt0, mt1 }));
  // images per GEMM: enough for GEMM_WIDTH tile columns (an 8x8 output has only 16 tiles)
  const group = Math.max(1, Math.min(Math.ceil(GEMM_WIDTH / (tilesY * tilesX)), Math.max(...ranges.map(([b0, b1]) => b1 - b0))));
  const np = ceilTo(group * tilesY * tilesX, NR);
  const image = cIn * h * width, outImage = cOut * outHp * outWp;
  const padFloats = cIn * (outHp + 2) * (outWp + 2), vFloats = 16 * cIn * np, mFloats = 16 * mp * np;
  const perThread = ceilTo(padFloats + vFloats + mFloats, 4);
  // the output transform writes whole padded planes: straight into out when there is no padding
  const exact = wholeTiles(g);
  rt.frame((f) => {
    const uAt = f.scratch(16 * mp * cIn), xAt = f.input(x, 0, n * image);
    const outAt = exact ? f.output(out, 0, n * outImage) : f.scratch(n * outImage);
    const scratchAt = f.scratch(parts.length * perThread);
    const term = (t: Float32Array | null | undefined, count: number) => (t ? f.input(t, 0, count) * 4 : 0);
    const termArgs = {
      bias: term(terms?.bias, cOut), convScale: term(terms?.convScale, n), residual: term(terms?.residual, n * outImage),
      residualScale: term(terms?.residualScale, n), channelAdd: term(terms?.channelAdd, n * cOut),
    };
    // U[xi] = (G g G^T)[xi], [cOut x cIn] each, transformed straight into packed panels (winograd-module.ts)
    const wAt = f.input(w, 0, cOut * cIn * 9);
    rt.parallel('winogradWeights', split(mp / MR, rt.threads).map(([mt0, mt1]) => ({ w: wAt * 4, u: uAt * 4, cOut, cIn, mp, mt0, mt1 })));
    rt.parallel('winogradImages', parts.map(({ b0, b1, mt0, mt1 }, t) => {
      const padAt = scratchAt + t * perThread, vAt = padAt + padFloats, mAt = vAt + vFloats;
      return {
        x: xAt * 4, xStride: image * 4, u: uAt * 4, bufV: vAt * 4, bufM: mAt * 4, bufPad: padAt * 4,
        out: outAt * 4, outStride: outImage * 4, b0, b1, h, w: width, cIn, cOut, mp, np, tilesY, tilesX,
        padH: g.padH, padW: g.padW, group, ...termArgs, mt0, mt1,
      };
    }));
    if (exact) return;
    const mem = f.mem;
    for (let plane = 0; plane < n * cOut; plane++) {
      for (let oy = 0; oy < outH; oy++) {
        const src = outAt + (plane * outHp + oy) * outWp;
        out.set(mem.subarray(src, src + outW), (plane * outH + oy) * outW);
      }
    }
  });
}
