import type { Conv2dGeometry, ConvEpilogue } from '../../src/backend/backend';
import { buf, checkGrid, int, type KernelThis, type Launch } from './launch';

// Direct convolutions, one output element per thread; NCHW activations, [cOut, cIn, kh, kw] weights.
// Geometry arguments in order: cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW.

/**
 * y[b, co, oy, ox] = sum x[b, ci, oy*sh - ph + ky, ox*sw - pw + kx] w[co, ci, ky, kx] (+ bias[co]
 * when the constant BIAS is 1); z = b*cOut + co.
 */
export function conv2dKernel(
  this: KernelThis, x: number[], wt: number[], bias: number[], residual: number[], convScale: number[], residualScale: number[], channelAdd: number[],
  cIn: number, h: number, w: number, cOut: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, outH: number, outW: number,
): number {
  const z = this.thread.z;
  const b = Math.floor((z + 0.5) / cOut);
  const co = z - b * cOut;
  let acc = 0;
  for (let ci = 0; ci < cIn; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      const iy = this.thread.y * sh - ph + ky;
      if (iy >= 0 && iy < h) {
        for (let kx = 0; kx < kw; kx++) {
          const ix = this.thread.x * sw - pw + kx;
          if (ix >= 0 && ix < w) {
            acc += x[(((b | 0) * cIn + ci) * h + (iy | 0)) * w + (ix | 0)] * wt[(((co | 0) * cIn + ci) * kh + ky) * kw + kx];
          }
        }
      }
    }
  }
  if (this.constants.BIAS === 1) acc += bias[co | 0];
  // the epilogue (ConvEpilogue): per-image scales and a residual of the output's shape
  if (this.constants.CONV_SCALE === 1) acc = acc * convScale[b | 0];
  if (this.constants.RESIDUAL === 1) {
    let r = residual[this.thread.x + outW * (this.thread.y + outH * this.thread.z)];
    if (this.constants.RESIDUAL_SCALE === 1) r = r * residualScale[b | 0];
    acc += r;
  }
  if (this.constants.CHANNEL_ADD === 1) acc += channelAdd[z];
  return acc;
}

/** dx[b, ci, y, x] = sum over (co, ky, kx) with oy = (y + ph - ky) / sh whole and in range; z = b*cIn + ci. */
export function conv2dGradInputKernel(
  this: KernelThis, gy: number[], wt: number[],
  cIn: number, cOut: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, outH: number, outW: number,
): number {
  const z = this.thread.z;
  const b = Math.floor((z + 0.5) / cIn);
  const ci = z - b * cIn;
  let acc = 0;
  for (let ky = 0; ky < kh; ky++) {
    const ty = this.thread.y + ph - ky;
    const oy = Math.floor((ty + 0.5) / sh);
    if (ty >= 0 && oy * sh === ty && oy < outH) {
      for (let kx = 0; kx < kw; kx++) {
        const tx = this.thread.x + pw - kx;
        const ox = Math.floor((tx + 0.5) / sw);
        if (tx >= 0 && ox * sw === tx && ox < outW) {
          for (let co = 0; co < cOut; co++) {
            acc += gy[(((b | 0) * cOut + co) * outH + (oy | 0)) * outW + (ox | 0)] * wt[((co * cIn + (ci | 0)) * kh + ky) * kw + kx];
          }
        }
      }
    }
  }
  return acc;
}

/** dw[co, ci, ky, kx] = sum over (b, oy, ox); thread (x, y, z) = (ky*kw + kx, ci, co). */
export function conv2dGradWeightKernel(
  this: KernelThis, x: number[], gy: number[],
  n: number, cIn: number, h: number, w: number, cOut: number, kw: number, sh: number, sw: number, ph: number, pw: number,
  outH: number, outW: number,
): number {
  const ky = Math.floor((this.thread.x + 0.5) / kw);
  const kx = this.thread.x - ky * kw;
  let acc = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy = oy * sh - ph + ky;
      if (iy >= 0 && iy < h) {
        for (let ox = 0; ox < outW; ox++) {
          const ix = ox * sw - pw + kx;
          if (ix >= 0 && ix < w) {
            acc += gy[((b * cOut + this.thread.z) * outH + oy) * outW + ox] * x[((b * cIn + this.thread.y) * h + (iy | 0)) * w + (ix | 0)];
          }
        }
      }
    }
  }
  return acc;
}

/** An input that is absent is bound as the weight in its place (and never read). */
export function planConv2d(x: number, weight: number, bias: number | null, out: number, g: Conv2dGeometry, e?: ConvEpilogue<number>): Launch {
  const output = [g.outW, g.outH, g.n * g.cOut];
  checkGrid('conv2d', output, 'use a smaller batch');
  const flag = (b: number | null | undefined): number => (b === null || b === undefined ? 0 : 1);
  return {
    kernel: 'conv2d', output, out,
    constants: {
      BIAS: flag(bias), RESIDUAL: flag(e?.residual), CONV_SCALE: flag(e?.convScale), RESIDUAL_SCALE: flag(e?.residualScale), CHANNEL_ADD: flag(e?.channelAdd),
    },
    args: [
      buf(x), buf(weight), buf(bias ?? weight), buf(e?.residual ?? weight), buf(e?.convScale ?? weight), buf(e?.residualScale ?? weight),
      buf(e?.channelAdd ?? weight),
      ...[g.cIn, g.h, g.w, g.cOut, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW, g.outH, g.outW].map(int),
    ],
  };
}

export function planConv2dGradInput(gradOut: number, weight: number, out: number, g: Conv2dGeometry): Launch {
  const output = [g.w, g.h, g.n * g.cIn];
  checkGrid('conv2d (input gradient)', output, 'use a smaller batch');
  return {
    kernel: 'conv2dGradInput', output, out,
    args: [buf(gradOut), buf(weight), ...[g.cIn, g.cOut, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW, g.outH, g.outW].map(int)],
  };
}

export function planConv2dGradWeight(x: number, gradOut: number, out: number, g: Conv2dGeometry): Launch {
  const output = [g.kh * g.kw, g.cIn, g.cOut];
  checkGrid('conv2d (weight gradient)', output, 'use fewer channels');
  return {
    kernel: 'conv2dGradWeight', output, out,
    args: [buf(x), buf(gradOut), ...[g.n, g.cIn, g.h, g.w, g.cOut, g.kw, g.strideH, g.strideW, g.padH, g.padW, g.outH, g.outW].map(int)],
  };
}
