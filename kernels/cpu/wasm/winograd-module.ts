import type { FunctionBody } from './builder';
import { KC, MR, NR } from './gemm-module';
import { kernel, type EmitContext, type Params } from './kernel-def';
import { copyPlanes, inputTransform2x2, paddedPlanes } from './winograd-emit';

// Winograd F(2x2, 3x3) for stride-1 3x3 convolutions (Lavin & Gray 2016, "Fast Algorithms for
// Convolutional Neural Networks"): each 2x2 output tile is A^T [ sum_ci (G g G^T) . (B^T d B) ] A
// for the 4x4 input tile d, so the 9 multiply-adds per output pixel and input channel become
// 16 / 4 = 4, done as 16 GEMMs U[xi] (cOut x cIn) V[xi] (cIn x tiles), one per tile position xi.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]     G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// The transforms work on four neighbouring tiles at once (one f32x4 per tile-matrix entry).

/** Parameters of winogradImages, in order (addresses in bytes). */
const WINOGRAD_PARAMS = [
  'x', 'xStride', 'u', 'bufV', 'bufM', 'bufPad', 'out', 'outStride', 'b0', 'b1',
  'h', 'w', 'cIn', 'cOut', 'mp', 'np', 'tilesY', 'tilesX', 'padH', 'padW', 'group',
  'bias', 'convScale', 'residual', 'residualScale', 'channelAdd', 'mt0', 'mt1',
] as const;

export const WINOGRAD_IMAGES = kernel('winogradImages', WINOGRAD_PARAMS, emitWinogradImages);

/**
 * winogradImages(...WINOGRAD_PARAMS): images [b0, b1) on one thread, `group` images per GEMM (small
 * images have few tiles: grouping keeps the GEMMs wide). Image b is [cIn, h, w] at x + b xStride;
 * its output [cOut, 2 tilesY, 2 tilesX] (the true output, padded up to whole tiles) goes to
 * out + b outStride. u holds the 16 transformed weight matrices U[xi], each [mp x cIn] in
 * packed-A layout, one after another. Per-thread scratch: bufPad (the zero-padded image,
 * [cIn, 2 tilesY + 2, 2 tilesX + 2]), bufV (16 packed-B matrices [cIn x np]), bufM (16 C
 * matrices [mp x np]). tilesX is a multiple of 4; np = group tilesY tilesX rounded up to NR;
 * column j of a group's matrices is tile j mod T of its image j / T (T = tilesY tilesX).
 * The epilogue, each term's address 0 when absent (the heap never hands out address 0):
 * out = ((conv + bias[co]) convScale[b] + residual residualScale[b]) + channelAdd[b, co], one
 * float32 operation at a time as separate passes would round them; residual is laid out as out.
 * Only the output channels of the U row panels [mt0, mt1) are computed (all of them: 0, mp / MR),
 * so threads can share the images of a small batch by channels.
 */
function emitWinogradImages(f: FunctionBody, a: Params<(typeof WINOGRAD_PARAMS)[number]>, ctx: EmitContext): void {
  const local = () => f.local('i32');
  const hp = local(), wp = local(), rowBytes = local(), planeBytes = local(), vStride = local(), mStride = local();
  const b = local(), ci = local(), co = local(), r = local(), ty = local(), tx = local(), j = local();
  const src = local(), dst = local(), ptr = local(), kStart = local(), kcb = local(), panelBytes = local();
  const outRowBytes = local(), outPlaneBytes = local(), co0 = local(), co1 = local();
  const g0 = local(), gEnd = local(), tiles = local(), jBase = local();
  const v = Array.from({ length: 16 }, () => f.local('v128'));
  const t = Array.from({ length: 4 }, () => f.local('v128'));
  const biasV = f.local('v128'), scaleV = f.local('v128'), residualScaleV = f.local('v128'), addV = f.local('v128'), o = f.local('v128');
  /** Splats the f32 at term + index * 4 into `into`, or `absent` when the term's address is 0. */
  const termOrDefault = (term: number, index: () => void, into: number, absent: number) => {
    f.get(term).if(
      () => { f.get(term); index(); f.i32(4).i32Mul().i32Add().f32Load().f32x4Splat().set(into); },
      () => { f.f32(absent).f32x4Splat().set(into); },
    );
  };

  // geometry of the padded image and the scratch matrices
  paddedPlanes(f, a.tilesY, a.tilesX, { hp, wp, rowBytes, planeBytes });
  f.get(a.cIn).get(a.np).i32Mul().i32(4).i32Mul().set(vStride);
  f.get(a.mp).get(a.np).i32Mul().i32(4).i32Mul().set(mStride);
  f.get(a.tilesX).i32(8).i32Mul().set(outRowBytes);
  f.get(outRowBytes).get(a.tilesY).i32Mul().i32(2).i32Mul().set(outPlaneBytes);
  // the border stays zero: images only overwrite the interior
  f.get(a.bufPad).i32(0).get(planeBytes).get(a.cIn).i32Mul().memoryFill();
  f.get(a.tilesY).get(a.tilesX).i32Mul().set(tiles);
  // the output channels of the row panels [mt0, mt1)
  f.get(a.mt0).i32(MR).i32Mul().set(co0);
  f.get(a.mt1).i32(MR).i32Mul().set(co1);
  f.get(co1).get(a.cOut).i32GeU().if(() => { f.get(a.cOut).set(co1); });

  f.forRange(g0, () => f.get(a.b0), a.b1, { local: a.group }, () => {
    f.get(g0).get(a.group).i32Add().set(gEnd);
    f.get(gEnd).get(a.b1).i32GeU().if(() => { f.get(a.b1).set(gEnd); });
    f.forRange(b, () => f.get(g0), gEnd, 1, () => {
      f.get(b).get(g0).i32Sub().get(tiles).i32Mul().set(jBase);
      // 1. copy image b into the interior of the padded planes, row by row
      f.get(a.x).get(b).get(a.xStride).i32Mul().i32Add().set(src);
      copyPlanes(f, { src, dst, plane: ci, row: r }, a.cIn, a.h, a.w, rowBytes, () => {
        f.get(a.bufPad).get(ci).get(planeBytes).i32Mul().i32Add()
          .get(a.padH).get(rowBytes).i32Mul().i32Add().get(a.padW).i32(4).i32Mul().i32Add();
      });

      // 2. input transform V[xi](ci, tile) = (B^T d B)[xi], written straight into packed-B panels
      f.forRange(ci, () => f.i32(0), a.cIn, 1, () => {
        // K block of ci: start kStart, size kcb; panel (tile / NR) at kStart np + (tile / NR) NR kcb
        f.get(ci).i32(KC).i32DivU().i32(KC).i32Mul().set(kStart);
        f.get(a.cIn).get(kStart).i32Sub().set(kcb);
        f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
        f.get(kcb).i32(NR * 4).i32Mul().set(panelBytes);
        f.forRange(ty, () => f.i32(0), a.tilesY, 1, () => {
          f.forRange(tx, () => f.i32(0), a.tilesX, 4, () => {
            // ptr: padded pixel (2 ty, 2 tx) of plane ci
            f.get(a.bufPad).get(ci).get(planeBytes).i32Mul().i32Add()
              .get(ty).get(rowBytes).i32Mul().i32(2).i32Mul().i32Add().get(tx).i32(8).i32Mul().i32Add().set(ptr);
            inputTransform2x2(f, v, t, ptr, rowBytes);
            // dst: V[0] element (ci, j), j = ty tilesX + tx (4 consecutive tiles share one panel row)
            f.get(ty).get(a.tilesX).i32Mul().get(tx).i32Add().get(jBase).i32Add().set(j);
            f.get(a.bufV).get(kStart).get(a.np).i32Mul().get(ci).get(kStart).i32Sub().i32(NR).i32Mul().i32Add().i32(4).i32Mul().i32Add()
              .get(j).i32(3).i32ShrU().get(panelBytes).i32Mul().i32Add().get(j).i32(7).i32And().i32(4).i32Mul().i32Add().set(dst);
            for (let k = 0; k < 16; k++) {
              f.get(dst);
              if (k > 0) f.get(vStride).i32(k).i32Mul().i32Add();
              f.get(v[k]!).v128Store();
            }
          });
        });
      });
    });

    // 3. M[xi] = U[xi] V[xi] for the group's images at once
    for (let xi = 0; xi < 16; xi++) {
      ctx.call('gemm', {
        a: () => f.get(a.u).i32(xi).get(a.mp).i32Mul().get(a.cIn).i32Mul().i32(4).i32Mul().i32Add(),
        b: () => f.get(a.bufV).i32(xi).get(vStride).i32Mul().i32Add(),
        c: () => f.get(a.bufM).i32(xi).get(mStride).i32Mul().i32Add(),
        mt0: () => f.get(a.mt0), mt1: () => f.get(a.mt1),
        nt0: () => f.i32(0), nt1: () => f.get(a.np).i32(NR).i32DivU(),
        k: () => f.get(a.cIn), mp4: () => f.get(a.mp).i32(4).i32Mul(), np4: () => f.get(a.np).i32(4).i32Mul(),
        accumulate: () => f.i32(0),
      });
    }

    // 4. output transform: the 2x2 tile A^T M A, interleaved into two output rows of 8 pixels, then the epilogue
    f.forRange(b, () => f.get(g0), gEnd, 1, () => {
      f.get(b).get(g0).i32Sub().get(tiles).i32Mul().set(jBase);
      termOrDefault(a.convScale, () => f.get(b), scaleV, 1);
      termOrDefault(a.residualScale, () => f.get(b), residualScaleV, 1);
      f.forRange(co, () => f.get(co0), co1, 1, () => {
        termOrDefault(a.bias, () => f.get(co), biasV, 0);
        termOrDefault(a.channelAdd, () => f.get(b).get(a.cOut).i32Mul().get(co).i32Add(), addV, 0);
        f.forRange(ty, () => f.i32(0), a.tilesY, 1, () => {
          f.forRange(tx, () => f.i32(0), a.tilesX, 4, () => {
            f.get(a.bufM).get(co).get(a.np).i32Mul().get(ty).get(a.tilesX).i32Mul().i32Add().get(tx).i32Add().get(jBase).i32Add().i32(4).i32Mul().i32Add().set(src);
            for (let k = 0; k < 16; k++) {
              f.get(src);
              if (k > 0) f.get(mStride).i32(k).i32Mul().i32Add();
              f.v128Load().set(v[k]!);
            }
            // columns c: s0 = m0c + m1c + m2c (into v[c]), s1 = m1c - m2c - m3c (into v[4 + c])
            for (let c = 0; c < 4; c++) {
              f.get(v[c]!).get(v[4 + c]!).f32x4Add().get(v[8 + c]!).f32x4Add().set(t[0]!);
              f.get(v[4 + c]!).get(v[8 + c]!).f32x4Sub().get(v[12 + c]!).f32x4Sub().set(v[4 + c]!);
              f.get(t[0]!).set(v[c]!);
            }
            // y(i, 0) = s_i0 + s_i1 + s_i2, y(i, 1) = s_i1 - s_i2 - s_i3, for rows i = 0, 1
            f.get(a.out).get(b).get(a.outStride).i32Mul().i32Add().get(co).get(outPlaneBytes).i32Mul().i32Add()
              .get(ty).get(outRowBytes).i32Mul().i32(2).i32Mul().i32Add().get(tx).i32(8).i32Mul().i32Add().set(dst);
            for (let i = 0; i < 2; i++) {
              const s = (c: number) => v[i * 4 + c]!;
              f.get(s(0)).get(s(1)).f32x4Add().get(s(2)).f32x4Add().set(t[0]!);
              f.get(s(1)).get(s(2)).f32x4Sub().get(s(3)).f32x4Sub().set(t[1]!);
              for (const [half, lanes] of [[0, [0, 4, 1, 5]], [16, [2, 6, 3, 7]]] as const) {
                // ptr: this vector's byte offset from out
                f.get(dst).get(a.out).i32Sub().i32(half).i32Add().set(ptr);
                if (i > 0) f.get(ptr).get(outRowBytes).i32Add().set(ptr);
                f.get(t[0]!).get(t[1]!).f32x4Shuffle(lanes).get(biasV).f32x4Add().get(scaleV).f32x4Mul().set(o);
                f.get(a.residual).if(() => {
                  f.get(o).get(a.residual).get(ptr).i32Add().v128Load().get(residualScaleV).f32x4Mul().f32x4Add().set(o);
                });
                f.get(a.out).get(ptr).i32Add().get(o).get(addV).f32x4Add().v128Store();
              }
            }
          });
        });
      });
    });
  });
}

const WINOGRAD_WEIGHTS_PARAMS = ['w', 'u', 'cOut', 'cIn', 'mp', 'mt0', 'mt1'] as const;

export const WINOGRAD_WEIGHTS = kernel('winogradWeights', WINOGRAD_WEIGHTS_PARAMS, emitWinogradWeights);

/**
 * winogradWeights(w, u, cOut, cIn, mp, mt0, mt1): the transformed weights U[xi] = (G g G^T)[xi]
 * of the 3x3 kernels w [cOut, cIn, 3, 3], written straight in packed-A layout (gemm-module.ts's
 * packA of the [cOut x cIn] matrix U[xi], at u + xi mp cIn floats), for the row panels
 * [mt0, mt1): the panel's four output channels side by side in one f32x4 (their taps gathered
 * lane by lane), rows past cOut zero. Byte addresses.
 */
function emitWinogradWeights(f: FunctionBody, a: Params<(typeof WINOGRAD_WEIGHTS_PARAMS)[number]>): void {
  const mt = f.local('i32'), ci = f.local('i32'), ks = f.local('i32'), kcb = f.local('i32'), d = f.local('i32'), xiStride = f.local('i32');
  const rowStride = f.local('i32'), last = f.local('i32');
  const row = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const mask = f.local('v128'), half = f.local('v128');
  const g = Array.from({ length: 9 }, () => f.local('v128'));
  const gg = Array.from({ length: 12 }, () => f.local('v128'));
  const sum = f.local('v128');
  f.f32(0.5).f32x4Splat().set(half);
  f.get(a.mp).get(a.cIn).i32Mul().i32(4).i32Mul().set(xiStride);
  f.get(a.cIn).i32(36).i32Mul().set(rowStride); // one output channel's kernels, bytes
  f.get(a.cOut).i32(1).i32Sub().set(last);
  f.forRange(mt, () => f.get(a.mt0), a.mt1, 1, () => {
    // the panel's rows: channel min(mt MR + r, cOut - 1) (rows past cOut are masked to zero)
    for (let r = 0; r < MR; r++) {
      f.get(mt).i32(MR).i32Mul().i32(r).i32Add().set(row[r]!);
      f.get(row[r]!).get(last).i32GeU().if(() => { f.get(last).set(row[r]!); });
      f.get(a.w).get(row[r]!).get(rowStride).i32Mul().i32Add().set(row[r]!);
    }
    f.v128ConstI32([0, 1, 2, 3]).get(a.cOut).get(mt).i32(MR).i32Mul().i32Sub().i32x4Splat().i32x4LtS().set(mask);
    f.forRange(ci, () => f.i32(0), a.cIn, 1, () => {
      // g[t] = tap t of the four channels' kernels for input channel ci
      for (let t = 0; t < 9; t++) {
        f.get(row[0]!).f32Load(4 * t).f32x4Splat();
        for (let r = 1; r < MR; r++) f.get(row[r]!).f32Load(4 * t).f32x4ReplaceLane(r);
        f.get(mask).v128And().set(g[t]!);
      }
      // G g: [4 x 3], rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2 of each column
      for (let c = 0; c < 3; c++) {
        const [g0, g1, g2] = [g[c]!, g[3 + c]!, g[6 + c]!];
        f.get(g0).get(g2).f32x4Add().set(sum);
        f.get(g0).set(gg[c]!);
        f.get(sum).get(g1).f32x4Add().get(half).f32x4Mul().set(gg[3 + c]!);
        f.get(sum).get(g1).f32x4Sub().get(half).f32x4Mul().set(gg[6 + c]!);
        f.get(g2).set(gg[9 + c]!);
      }
      // d: where (co, ci) sits in each packed U[xi]: u + 4 (ks mp + mt MR kcb + (ci - ks) MR)
      f.get(ci).i32(-KC).i32And().set(ks);
      f.get(a.cIn).get(ks).i32Sub().set(kcb);
      f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
      f.get(a.u).get(ks).get(a.mp).i32Mul().get(mt).i32(MR).i32Mul().get(kcb).i32Mul().i32Add().get(ci).get(ks).i32Sub().i32(MR).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(d);
      // (G g) G^T, row r: entries g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2 of the row -> xi = 4 r + column
      for (let r = 0; r < 4; r++) {
        const [g0, g1, g2] = [gg[3 * r]!, gg[3 * r + 1]!, gg[3 * r + 2]!];
        const store = (xi: number, value: () => void) => {
          f.get(d);
          if (xi > 0) f.get(xiStride).i32(xi).i32Mul().i32Add();
          value();
          f.v128Store();
        };
        f.get(g0).get(g2).f32x4Add().set(sum);
        store(4 * r, () => f.get(g0));
        store(4 * r + 1, () => f.get(sum).get(g1).f32x4Add().get(half).f32x4Mul());
        store(4 * r + 2, () => f.get(sum).get(g1).f32x4Sub().get(half).f32x4Mul());
        store(4 * r + 3, () => f.get(g2));
      }
      for (let r = 0; r < MR; r++) f.get(row[r]!).i32(36).i32Add().set(row[r]!);
    });
  });
}
