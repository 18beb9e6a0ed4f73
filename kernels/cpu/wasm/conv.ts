import type { Conv2dGeometry } from '../../../src/backend/backend';
import { packAOnThreads, runPackedGemm } from './gemm';
import { ceilTo, split } from './ranges';
import { MR, NR } from './gemm-module';
import type { KernelArgs } from './kernels';
import { getRuntime } from './runtime';

// conv2d as GEMM (the im2col paths of conv-paths.ts), one image at a time, im2col packed straight into GEMM panels by WebAssembly
// (the kernels im2col, im2colT, convImages, convGradWeightImages: conv-module.ts).
// With at least as many images as threads, each thread takes whole images (one hand-off per
// call); otherwise the threads share each image's panels and tiles.
//   forward:      out_b [cOut x P]  = W [cOut x K] @ col_b [K x P]
//   weight grad:  dW    [cOut x K] += dy_b [cOut x P] @ col_b^T [P x K]   (summed over the batch;
//                 by Winograd F(3x3, 2x2) where it pays: winograd-grad.ts)
//   input grad: a forward conv of dy with W flipped and transposed, padding k - 1 - p.
// K = cIn kh kw, P = outH outW. Layout of packed panels: gemm-module.ts.

/** The geometry arguments im2col and convImages share (np: the packed GEMM width). */
function geometryArgs(g: Conv2dGeometry, np: number) {
  const { h, w, kh, kw, strideH, strideW, padH, padW, outW } = g;
  return { h, w, kh, kw, strideH, strideW, padH, padW, outW, P: g.outH * g.outW, K: g.cIn * kh * kw, np };
}

/** im2col / im2colT of the image at xAt into the B panels [nt0, nt1) at bAt (floats). */
function im2colArgs(g: Conv2dGeometry, xAt: number, bAt: number, np: number, [nt0, nt1]: [number, number]): KernelArgs<'im2col'> {
  return { x: xAt * 4, dst: bAt * 4, ...geometryArgs(g, np), nt0, nt1 };
}

export function conv2dIm2colF32(x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry): void {
  const rt = getRuntime();
  const K = g.cIn * g.kh * g.kw, P = g.outH * g.outW, image = g.cIn * g.h * g.w;
  const mp = ceilTo(g.cOut, MR), np = ceilTo(P, NR);
  // the GEMM writes C [mp x np] per image: straight into out when that has no padding
  const exact = mp === g.cOut && np === P;
  rt.frame((f) => {
    const aAt = f.scratch(mp * K), xAt = f.input(x, 0, g.n * image), wAt = f.input(w, 0, g.cOut * K);
    packAOnThreads(wAt, K, 1, g.cOut, K, mp, aAt);
    if (g.n >= rt.threads) {
      const ranges = split(g.n, rt.threads);
      const bAt = f.scratch(ranges.length * K * np);
      const cAt = exact ? f.output(out, 0, g.n * g.cOut * P) : f.scratch(g.n * mp * np);
      rt.parallel('convImages', ranges.map(([b0, b1], t) => ({
        x: xAt * 4, xStride: image * 4, a: aAt * 4, aStride: 0, bBuf: (bAt + t * K * np) * 4, c: cAt * 4, cStride: mp * np * 4, b0, b1,
        ...geometryArgs(g, np), mp, m: g.cOut, aBuf: 0,
      })));
      if (exact) return;
      const mem = f.mem;
      for (let b = 0; b < g.n; b++) {
        for (let co = 0; co < g.cOut; co++) {
          const src = cAt + (b * mp + co) * np;
          out.set(mem.subarray(src, src + P), (b * g.cOut + co) * P);
        }
      }
      return;
    }
    const bAt = f.scratch(K * np), cAt = exact ? f.output(out, 0, g.n * g.cOut * P) : f.scratch(mp * np);
    const panels = split(np / NR, rt.threads);
    for (let b = 0; b < g.n; b++) {
      rt.parallel('im2col', panels.map((r) => im2colArgs(g, xAt + b * image, bAt, np, r)));
      runPackedGemm(mp, np, K, aAt, bAt, exact ? cAt + b * g.cOut * P : cAt, false);
      if (exact) continue;
      const mem = f.mem, o = b * g.cOut * P;
      for (let co = 0; co < g.cOut; co++) out.set(mem.subarray(cAt + co * np, cAt + co * np + P), o + co * P);
    }
  });
}

export function conv2dGradWeightIm2colF32(x: Float32Array, gy: Float32Array, gw: Float32Array, g: Conv2dGeometry): void {
  const rt = getRuntime();
  const K = g.cIn * g.kh * g.kw, P = g.outH * g.outW, image = g.cIn * g.h * g.w;
  const mp = ceilTo(g.cOut, MR), np = ceilTo(K, NR);
  const writeOut = (mem: Float32Array, cAt: number, add: boolean) => {
    for (let co = 0; co < g.cOut; co++) {
      for (let j = 0; j < K; j++) {
        const v = mem[cAt + co * np + j]!;
        gw[co * K + j] = add ? gw[co * K + j]! + v : v;
      }
    }
  };
  rt.frame((f) => {
    const xAt = f.input(x, 0, g.n * image);
    if (g.n >= rt.threads) {
      const ranges = split(g.n, rt.threads), T = ranges.length;
      const dyAt = f.input(gy, 0, g.n * g.cOut * P), aAt = f.scratch(T * mp * P), bAt = f.scratch(T * P * np), cAt = f.scratch(T * mp * np);
      rt.parallel('convGradWeightImages', ranges.map(([b0, b1], t) => ({
        x: xAt * 4, xStride: image * 4, a: dyAt * 4, aStride: g.cOut * P * 4, bBuf: (bAt + t * P * np) * 4, c: (cAt + t * mp * np) * 4, cStride: 0,
        b0, b1, ...geometryArgs(g, np), mp, m: g.cOut, aBuf: (aAt + t * mp * P) * 4,
      })));
      const mem = f.mem;
      for (let t = 0; t < T; t++) writeOut(mem, cAt + t * mp * np, t > 0);
      return;
    }
    const dyAt = f.input(gy, 0, g.n * g.cOut * P), aAt = f.scratch(mp * P), bAt = f.scratch(P * np), cAt = f.scratch(mp * np);
    const panels = split(np / NR, rt.threads);
    for (let b = 0; b < g.n; b++) {
      packAOnThreads(dyAt + b * g.cOut * P, P, 1, g.cOut, P, mp, aAt);
      rt.parallel('im2colT', panels.map((r) => im2colArgs(g, xAt + b * image, bAt, np, r)));
      runPackedGemm(mp, np, P, aAt, bAt, cAt, b > 0);
    }
    writeOut(f.mem, cAt, false);
  });
}

/** Whether the input gradient can run as a forward convolution (padding < kernel size). */
export function gradInputAsConv(g: Conv2dGeometry): boolean {
  return g.padH <= g.kh - 1 && g.padW <= g.kw - 1;
}

type Conv2dF32 = (x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry) => void;

/**
 * dx = a stride-1 forward convolution (by `forward`) of dy with the kernel flipped and in/out
 * swapped, padding k - 1 - p. For stride s > 1, dy is first dilated: s - 1 zeros between its
 * values, plus the (h + 2p - k) mod s rows and columns at the end that the forward's floor left out.
 */
export function conv2dGradInputAsForward(gy: Float32Array, w: Float32Array, gx: Float32Array, g: Conv2dGeometry, forward: Conv2dF32): void {
  if (!gradInputAsConv(g)) throw new Error('conv2dGradInputAsForward: needs padding < kernel size.');
  const { cIn, cOut, kh, kw } = g;
  const flipped = new Float32Array(w.length);
  for (let co = 0; co < cOut; co++) {
    for (let ci = 0; ci < cIn; ci++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          flipped[((ci * cOut + co) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)] = w[((co * cIn + ci) * kh + ky) * kw + kx]!;
        }
      }
    }
  }
  let src = gy, h = g.outH, width = g.outW;
  if (g.strideH > 1 || g.strideW > 1) {
    h = (g.outH - 1) * g.strideH + 1 + ((g.h + 2 * g.padH - kh) % g.strideH);
    width = (g.outW - 1) * g.strideW + 1 + ((g.w + 2 * g.padW - kw) % g.strideW);
    src = new Float32Array(g.n * cOut * h * width);
    for (let plane = 0; plane < g.n * cOut; plane++) {
      for (let oy = 0; oy < g.outH; oy++) {
        for (let ox = 0; ox < g.outW; ox++) {
          src[(plane * h + oy * g.strideH) * width + ox * g.strideW] = gy[(plane * g.outH + oy) * g.outW + ox]!;
        }
      }
    }
  }
  forward(src, flipped, gx, {
    n: g.n, cIn: cOut, h, w: width, cOut: cIn, kh, kw, strideH: 1, strideW: 1,
    padH: kh - 1 - g.padH, padW: kw - 1 - g.padW, outH: g.h, outW: g.w,
  });
}
