import type { FunctionBody } from './builder';
import { kernel, type EmitContext, type Params } from './kernel-def';

// Direct 3x3 convolution (stride 1, padding 1) for layers with few channels, where Winograd and
// im2col + GEMM spend most of their work on transforms, packing and padding (the SimpleUNet's last
// 65 -> 1 convolution; which layers take it: direct-conv.ts). Each thread takes whole images.
// An image is first copied into the thread's zero-bordered buffer `pad`: per input channel
// (h + 2) rows of wp floats, the image's row y at row y + 1 from column 1, so tap (ky, kx) of
// output (y, x) is pad[y + ky][x + kx], in bounds for every output column up to wo (wp = wo + 4).
//
//   forward:      out[co][y][x]  = sum over ci, ky, kx of w[co][ci][ky][kx] pad[ci][y + ky][x + kx]
//                 16 output columns a step (4 f32x4 accumulators), the weights read pre-splat
//                 (w4: one f32x4 per weight), rows of wo = ceil16(w) columns through `row`.
//   weight grad:  gw[co][ci][ky][kx] += sum over y, x of dy[co][y][x] pad[ci][y + ky][x + kx]
//                 nine f32x4 accumulators per (co, ci), dy copied into rows of wo = ceil4(w)
//                 columns with zeros past w (dyPad), summed over the thread's images into its gw.

const FORWARD_PARAMS = ['x', 'xStride', 'w4', 'out', 'outStride', 'pad', 'row', 'b0', 'b1', 'cIn', 'cOut', 'h', 'w', 'wp', 'wo'] as const;
const GRAD_WEIGHT_PARAMS = ['x', 'xStride', 'dy', 'dyStride', 'gw', 'pad', 'dyPad', 'b0', 'b1', 'cIn', 'cOut', 'h', 'w', 'wp', 'wo'] as const;
const PAD_PARAMS = ['src', 'dst', 'planes', 'h', 'w', 'rowStride', 'planeStride'] as const;

export const PAD_PLANES = kernel('padPlanes', PAD_PARAMS, emitPadPlanes);
export const CONV_DIRECT_3X3_IMAGES = kernel('convDirect3x3Images', FORWARD_PARAMS, emitForward);
export const CONV_GRAD_WEIGHT_DIRECT_3X3_IMAGES = kernel('convGradWeightDirect3x3Images', GRAD_WEIGHT_PARAMS, emitGradWeight);

/**
 * padPlanes(src, dst, planes, h, w, rowStride, planeStride): copies `planes` planes of h rows of w
 * floats from src (packed) to dst, row y of plane p at dst + p planeStride + y rowStride (bytes).
 * What lies around the copied rows in dst is left as it is.
 */
function emitPadPlanes(f: FunctionBody, a: Params<(typeof PAD_PARAMS)[number]>): void {
  const p = f.local('i32'), y = f.local('i32'), src = f.local('i32'), dstRow = f.local('i32'), rowBytes = f.local('i32');
  f.get(a.w).i32(2).i32Shl().set(rowBytes);
  f.get(a.src).set(src);
  f.forRange(p, () => f.i32(0), a.planes, 1, () => {
    f.get(p).get(a.planeStride).i32Mul().get(a.dst).i32Add().set(dstRow);
    f.forRange(y, () => f.i32(0), a.h, 1, () => {
      f.get(dstRow).get(src).get(rowBytes).memoryCopy();
      f.get(src).get(rowBytes).i32Add().set(src);
      f.get(dstRow).get(a.rowStride).i32Add().set(dstRow);
    });
  });
}

/** acc <- acc + a b: fused where the module has relaxed SIMD; the operands pushed by `operands`. */
function madd(f: FunctionBody, ctx: EmitContext, acc: number, operands: () => void): void {
  if (ctx.features.relaxedMadd) {
    operands();
    f.get(acc).f32x4RelaxedMadd().set(acc);
  } else {
    f.get(acc);
    operands();
    f.f32x4Mul().f32x4Add().set(acc);
  }
}

/** Copies image b's planes into the pad buffer (its border zeroed once per call by the caller's fill). */
function padImage(f: FunctionBody, ctx: EmitContext, src: () => void, pad: number, planes: number, h: number, w: number, wp: number): void {
  ctx.call('padPlanes', {
    src, dst: () => f.get(pad).get(wp).i32(2).i32Shl().i32Add().i32(4).i32Add(), planes: () => f.get(planes),
    h: () => f.get(h), w: () => f.get(w), rowStride: () => f.get(wp).i32(2).i32Shl(),
    planeStride: () => f.get(h).i32(2).i32Add().get(wp).i32Mul().i32(2).i32Shl(),
  });
}

function emitForward(f: FunctionBody, a: Params<(typeof FORWARD_PARAMS)[number]>, ctx: EmitContext): void {
  const b = f.local('i32'), co = f.local('i32'), y = f.local('i32'), xv = f.local('i32'), ci = f.local('i32');
  const rowBytes = f.local('i32'), planeBytes = f.local('i32'), woBytes = f.local('i32'), outRow = f.local('i32');
  const p0 = f.local('i32'), p1 = f.local('i32'), p2 = f.local('i32'), wAt = f.local('i32'), outBytes = f.local('i32');
  const acc = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const wv = f.local('v128');
  f.get(a.wp).i32(2).i32Shl().set(rowBytes);
  f.get(a.h).i32(2).i32Add().get(rowBytes).i32Mul().set(planeBytes);
  f.get(a.wo).i32(2).i32Shl().set(woBytes);
  f.get(a.w).i32(2).i32Shl().set(outBytes);
  f.get(a.pad).i32(0).get(a.cIn).get(planeBytes).i32Mul().memoryFill();
  f.forRange(b, () => f.get(a.b0), a.b1, 1, () => {
    padImage(f, ctx, () => f.get(b).get(a.xStride).i32Mul().get(a.x).i32Add(), a.pad, a.cIn, a.h, a.w, a.wp);
    f.get(b).get(a.outStride).i32Mul().get(a.out).i32Add().set(outRow);
    f.forRange(co, () => f.i32(0), a.cOut, 1, () => {
      f.forRange(y, () => f.i32(0), a.h, 1, () => {
        f.forRange(xv, () => f.i32(0), woBytes, 64, () => {
          for (const v of acc) f.f32(0).f32x4Splat().set(v);
          // pad[ci][y][xv]: rows y, y + 1, y + 2 of each input channel
          f.get(a.pad).get(y).get(rowBytes).i32Mul().i32Add().get(xv).i32Add().set(p0);
          f.get(co).get(a.cIn).i32Mul().i32(144).i32Mul().get(a.w4).i32Add().set(wAt);
          f.forRange(ci, () => f.i32(0), a.cIn, 1, () => {
            f.get(p0).get(rowBytes).i32Add().tee(p1).get(rowBytes).i32Add().set(p2);
            [p0, p1, p2].forEach((p, ky) => {
              for (let kx = 0; kx < 3; kx++) {
                f.get(wAt).v128Load((ky * 3 + kx) * 16).set(wv);
                acc.forEach((v, j) => madd(f, ctx, v, () => f.get(wv).get(p).v128Load((kx + 4 * j) * 4)));
              }
            });
            f.get(p0).get(planeBytes).i32Add().set(p0);
            f.get(wAt).i32(144).i32Add().set(wAt);
          });
          acc.forEach((v, j) => f.get(a.row).get(xv).i32Add().get(v).v128Store(16 * j));
        });
        f.get(outRow).get(a.row).get(outBytes).memoryCopy();
        f.get(outRow).get(outBytes).i32Add().set(outRow);
      });
    });
  });
}

function emitGradWeight(f: FunctionBody, a: Params<(typeof GRAD_WEIGHT_PARAMS)[number]>, ctx: EmitContext): void {
  const b = f.local('i32'), co = f.local('i32'), ci = f.local('i32'), y = f.local('i32'), xv = f.local('i32');
  const rowBytes = f.local('i32'), planeBytes = f.local('i32'), woBytes = f.local('i32'), dyPlaneBytes = f.local('i32');
  const p0 = f.local('i32'), p1 = f.local('i32'), p2 = f.local('i32'), d = f.local('i32'), rowEnd = f.local('i32'), gwAt = f.local('i32');
  const acc = Array.from({ length: 9 }, () => f.local('v128'));
  const dv = f.local('v128');
  f.get(a.wp).i32(2).i32Shl().set(rowBytes);
  f.get(a.h).i32(2).i32Add().get(rowBytes).i32Mul().set(planeBytes);
  f.get(a.wo).i32(2).i32Shl().set(woBytes);
  f.get(a.h).get(woBytes).i32Mul().set(dyPlaneBytes);
  f.get(a.pad).i32(0).get(a.cIn).get(planeBytes).i32Mul().memoryFill();
  f.get(a.dyPad).i32(0).get(a.cOut).get(dyPlaneBytes).i32Mul().memoryFill();
  f.forRange(b, () => f.get(a.b0), a.b1, 1, () => {
    padImage(f, ctx, () => f.get(b).get(a.xStride).i32Mul().get(a.x).i32Add(), a.pad, a.cIn, a.h, a.w, a.wp);
    ctx.call('padPlanes', {
      src: () => f.get(b).get(a.dyStride).i32Mul().get(a.dy).i32Add(), dst: () => f.get(a.dyPad), planes: () => f.get(a.cOut),
      h: () => f.get(a.h), w: () => f.get(a.w), rowStride: () => f.get(woBytes), planeStride: () => f.get(dyPlaneBytes),
    });
    f.get(a.gw).set(gwAt);
    f.forRange(co, () => f.i32(0), a.cOut, 1, () => {
      f.forRange(ci, () => f.i32(0), a.cIn, 1, () => {
        for (const v of acc) f.f32(0).f32x4Splat().set(v);
        f.get(co).get(dyPlaneBytes).i32Mul().get(a.dyPad).i32Add().set(d);
        f.get(ci).get(planeBytes).i32Mul().get(a.pad).i32Add().set(p0);
        f.forRange(y, () => f.i32(0), a.h, 1, () => {
          f.get(p0).get(rowBytes).i32Add().tee(p1).get(rowBytes).i32Add().set(p2);
          f.get(d).get(woBytes).i32Add().set(rowEnd);
          // xv walks dy's row; p0..p2 walk the three input rows with it
          f.forRange(xv, () => f.get(d), rowEnd, 16, () => {
            f.get(xv).v128Load().set(dv);
            [p0, p1, p2].forEach((p, ky) => {
              for (let kx = 0; kx < 3; kx++) madd(f, ctx, acc[ky * 3 + kx]!, () => f.get(dv).get(p).v128Load(kx * 4));
            });
            for (const p of [p0, p1, p2]) f.get(p).i32(16).i32Add().set(p);
          });
          f.get(rowEnd).set(d);
          // back to the start of the next input row: the loop moved p0 on by wo floats
          f.get(p0).get(rowBytes).i32Add().get(woBytes).i32Sub().set(p0);
        });
        acc.forEach((v, k) => {
          f.get(gwAt).get(gwAt).f32Load(4 * k);
          f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add().get(v).f32x4ExtractLane(2).get(v).f32x4ExtractLane(3).f32Add().f32Add();
          f.f32Add().f32Store(4 * k);
        });
        f.get(gwAt).i32(36).i32Add().set(gwAt);
      });
    });
  });
}
