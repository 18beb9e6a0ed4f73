import type { Conv2dGeometry } from '../../../src/backend/backend';
import { ceilTo, split } from './ranges';
import { MR, NR } from './gemm-module';
import { getRuntime } from './runtime';
import { winogradGeometry, winogradTiles } from './winograd';

/** Tiles per GEMM depth at least (small images are grouped to reach it). */
const DEPTH_TARGET = 512;

/**
 * Whether the weight gradient runs by Winograd: where it is supported and beats im2col + GEMM,
 * i.e. at least 8 input channels (fewer leave the packed panels mostly padding) and outputs of at
 * least 16x16, or of at least 8x8 with a batch of at least DEPTH_TARGET tiles in all (fewer tiles
 * do not pay for the transforms). Measured by bench/conv-paths.ts on the SimpleUNet's shapes
 * (Winograd vs im2col): 64 -> 64 at 32x32, batch 32: 19 vs 35 ms; at 8x8, batch 32: 2.1-2.2 vs
 * 2.5-2.9 ms (128 -> 128: 7.3-7.5 vs 8.4-8.5 ms); at 8x8, batch 8: 1.2 vs 0.84 ms.
 */
export function winogradGradWeightApplies(g: Conv2dGeometry): boolean {
  if (!(winogradGeometry(g) && g.cIn >= 8)) return false;
  if (g.outH >= 16 && g.outW >= 16) return true;
  const { tilesY, tilesX } = winogradTiles(g.outH, g.outW);
  return g.outH >= 8 && g.outW >= 8 && g.n * tilesY * tilesX >= DEPTH_TARGET;
}

/**
 * The weight gradient of a stride-1 3x3 conv2d by Winograd F(3x3, 2x2) (winograd-grad-module.ts),
 * images split across threads: gw [cOut, cIn, 3, 3] = sum over images of dy_b (x) x_b.
 */
export function conv2dGradWeightWinogradF32(x: Float32Array, gy: Float32Array, gw: Float32Array, g: Conv2dGeometry): void {
  if (!winogradGeometry(g)) throw new Error('conv2dGradWeightWinogradF32: needs a 3x3 kernel, stride 1 and padding <= 2.');
  const rt = getRuntime();
  const { n, cIn, cOut, h, w: width, outH, outW } = g;
  const { tilesY, tilesX } = winogradTiles(outH, outW), tiles = tilesY * tilesX;
  const ranges = split(n, rt.threads);
  const group = Math.max(1, Math.min(Math.ceil(DEPTH_TARGET / tiles), Math.max(...ranges.map(([b0, b1]) => b1 - b0))));
  const depth = group * tiles, mp = ceilTo(cOut, MR), np = ceilTo(cIn, NR);
  const image = cIn * h * width, dyImage = cOut * outH * outW;
  const padFloats = cIn * (2 * tilesY + 2) * (2 * tilesX + 2), dyFloats = cOut * 4 * tiles;
  const aFloats = 16 * mp * depth, bFloats = 16 * depth * np, cFloats = 16 * mp * np;
  const perThread = ceilTo(padFloats + dyFloats + aFloats + bFloats + cFloats, 4);
  const pairs = cOut * cIn;
  // M summed over the threads, read row by row: m[(xi cOut + co) cIn + ci]
  const m = new Float64Array(16 * pairs);
  rt.frame((f) => {
    const xAt = f.input(x, 0, n * image), dyAt = f.input(gy, 0, n * dyImage), scratchAt = f.scratch(ranges.length * perThread);
    const cAt = (t: number) => scratchAt + t * perThread + padFloats + dyFloats + aFloats + bFloats;
    rt.parallel('winogradGradWeightImages', ranges.map(([b0, b1], t) => {
      const padAt = scratchAt + t * perThread, dyPadAt = padAt + padFloats, aAt = dyPadAt + dyFloats, bAt = aAt + aFloats;
      return {
        x: xAt * 4, xStride: image * 4, dy: dyAt * 4, dyStride: dyImage * 4, bufPad: padAt * 4, bufDy: dyPadAt * 4,
        bufA: aAt * 4, bufB: bAt * 4, c: cAt(t) * 4, b0, b1, h, w: width, outH, outW, cIn, cOut, mp, np, tilesY, tilesX,
        padH: g.padH, padW: g.padW, group,
      };
    }));
    const mem = f.mem;
    for (let t = 0; t < ranges.length; t++) {
      for (let xi = 0; xi < 16; xi++) {
        for (let co = 0; co < cOut; co++) {
          const src = cAt(t) + (xi * mp + co) * np, dst = (xi * cOut + co) * cIn;
          for (let ci = 0; ci < cIn; ci++) m[dst + ci] += mem[src + ci]!;
        }
      }
    }
  });
  // dW = (S G)^T M (S G), S G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 -1]: T = M (S G) row by row, then (S G)^T T
  const tm = new Float64Array(12);
  for (let pair = 0; pair < pairs; pair++) {
    for (let r = 0; r < 4; r++) {
      const m0 = m[(r * 4) * pairs + pair]!, m1 = m[(r * 4 + 1) * pairs + pair]!, m2 = m[(r * 4 + 2) * pairs + pair]!, m3 = m[(r * 4 + 3) * pairs + pair]!;
      tm[r * 3] = m0 + 0.5 * (m1 + m2);
      tm[r * 3 + 1] = 0.5 * (m1 - m2);
      tm[r * 3 + 2] = 0.5 * (m1 + m2) - m3;
    }
    const at = pair * 9;
    for (let kx = 0; kx < 3; kx++) {
      const t0 = tm[kx]!, t1 = tm[3 + kx]!, t2 = tm[6 + kx]!, t3 = tm[9 + kx]!;
      gw[at + kx] = t0 + 0.5 * (t1 + t2);
      gw[at + 3 + kx] = 0.5 * (t1 - t2);
      gw[at + 6 + kx] = 0.5 * (t1 + t2) - t3;
    }
  }
}
