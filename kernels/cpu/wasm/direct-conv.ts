import type { Conv2dGeometry } from '../../../src/backend/backend';
import { ceilTo, split } from './ranges';
import { getRuntime } from './runtime';

/** The geometry the direct kernels compute: 3x3, stride 1, padding 1 (same-size output). */
export function directConvGeometry(g: Conv2dGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.padH === 1 && g.padW === 1 && g.outH === g.h && g.outW === g.w;
}

// Where the direct kernels beat the other paths (npx tsx bench/conv-paths.ts, batch 32, ms,
// three rounds on a quiet machine): the SimpleUNet's 65 -> 1 at 32x32, forward 1.7-3.1 vs Winograd
// 2.6-4.2, weight gradient 1.6-1.8 vs Winograd 7.8-8.4; the UNet's 32 -> 3 at 64x64, weight
// gradient 8.2-8.9 vs Winograd 14.4-15.4, its 3 -> 32 weight gradient 8.3-9.2 vs im2col 12.4-12.9.
// The forward computes each output channel in its own pass over the input: slower than Winograd
// at 32 -> 3 (12.6-12.7 vs 10.8-11.2), and than im2col with few input channels (3 -> 32: 8.5-12.2
// vs 4.9-6.2), which stay on the other paths.

/** Whether conv2d runs direct (direct-conv-module.ts): 3x3 stride-1 padding-1 layers with one or two output channels. */
export const directConvApplies = (g: Conv2dGeometry): boolean => directConvGeometry(g) && g.cOut <= 2;

/** Whether the weight gradient runs direct: the same layers with at most four input or output channels. */
export const directConvGradWeightApplies = (g: Conv2dGeometry): boolean => directConvGeometry(g) && Math.min(g.cIn, g.cOut) <= 4;

/** Row strides of the kernels' buffers: output rows of wo floats, zero-bordered input rows of wp = wo + 4. */
function rowLayout(g: Conv2dGeometry, outputMultiple: number): { wo: number; wp: number; padFloats: number } {
  const wo = ceilTo(g.w, outputMultiple), wp = wo + 4;
  return { wo, wp, padFloats: g.cIn * (g.h + 2) * wp };
}

/** conv2d (no bias) by the direct kernel, images split across threads. */
export function conv2dDirectF32(x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry): void {
  if (!directConvGeometry(g)) throw new Error('conv2dDirectF32: needs a 3x3 kernel, stride 1 and padding 1.');
  const rt = getRuntime();
  const { n, cIn, cOut, h, w: width } = g;
  const { wo, wp, padFloats } = rowLayout(g, 16);
  const image = cIn * h * width, outImage = cOut * h * width, perThread = ceilTo(padFloats + wo, 4);
  const ranges = split(n, rt.threads);
  rt.frame((f) => {
    const xAt = f.input(x, 0, n * image), w4At = f.scratch(w.length * 4), outAt = f.output(out, 0, n * outImage), scratchAt = f.scratch(ranges.length * perThread);
    const mem = f.mem;
    // each weight as an f32x4 of four copies: the kernel's multiplier, read without a splat
    for (let i = 0; i < w.length; i++) mem.fill(w[i]!, w4At + 4 * i, w4At + 4 * i + 4);
    rt.parallel('convDirect3x3Images', ranges.map(([b0, b1], t) => {
      const padAt = scratchAt + t * perThread;
      return {
        x: xAt * 4, xStride: image * 4, w4: w4At * 4, out: outAt * 4, outStride: outImage * 4, pad: padAt * 4, row: (padAt + padFloats) * 4,
        b0, b1, cIn, cOut, h, w: width, wp, wo,
      };
    }));
  });
}

/** The weight gradient by the direct kernel: each thread sums its images into its own gw, then the threads' sums are added. */
export function conv2dGradWeightDirectF32(x: Float32Array, gy: Float32Array, gw: Float32Array, g: Conv2dGeometry): void {
  if (!directConvGeometry(g)) throw new Error('conv2dGradWeightDirectF32: needs a 3x3 kernel, stride 1 and padding 1.');
  const rt = getRuntime();
  const { n, cIn, cOut, h, w: width } = g;
  const { wo, wp, padFloats } = rowLayout(g, 4);
  const image = cIn * h * width, dyImage = cOut * h * width, weights = cOut * cIn * 9;
  const dyPadFloats = cOut * h * wo, perThread = ceilTo(padFloats + dyPadFloats + weights, 4);
  const ranges = split(n, rt.threads);
  rt.frame((f) => {
    const xAt = f.input(x, 0, n * image), dyAt = f.input(gy, 0, n * dyImage), scratchAt = f.scratch(ranges.length * perThread);
    const gwAt = (t: number) => scratchAt + t * perThread + padFloats + dyPadFloats;
    for (let t = 0; t < ranges.length; t++) f.mem.fill(0, gwAt(t), gwAt(t) + weights);
    rt.parallel('convGradWeightDirect3x3Images', ranges.map(([b0, b1], t) => {
      const padAt = scratchAt + t * perThread;
      return {
        x: xAt * 4, xStride: image * 4, dy: dyAt * 4, dyStride: dyImage * 4, gw: gwAt(t) * 4, pad: padAt * 4, dyPad: (padAt + padFloats) * 4,
        b0, b1, cIn, cOut, h, w: width, wp, wo,
      };
    }));
    const mem = f.mem;
    gw.set(mem.subarray(gwAt(0), gwAt(0) + weights));
    for (let t = 1; t < ranges.length; t++) {
      const at = gwAt(t);
      for (let i = 0; i < weights; i++) gw[i]! += mem[at + i]!;
    }
  });
}
