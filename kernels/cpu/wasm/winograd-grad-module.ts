import type { FunctionBody } from './builder';
import { KC, MR, NR } from './gemm-module';
import { kernel, type EmitContext, type Params } from './kernel-def';
import { copyPlanes, inputTransform2x2, paddedPlanes } from './winograd-emit';

// The weight gradient of a stride-1 3x3 convolution by Winograd's F(3x3, 2x2) (Lavin & Gray 2016,
// section 5): dW[co, ci] = sum over the 2x2 tiles t of dy of the 3x3 correlation of the 4x4 input
// tile d_t with the tile, which is G^T [ (A dy_t A^T) . (B^T d_t B) ] G with the matrices of the
// forward's F(2x2, 3x3) in swapped roles (winograd-module.ts). The tile sum moves inside the
// output transform, so per tile position xi it is one GEMM over the tiles:
//   M[xi] (cOut x cIn) = U[xi] (cOut x tiles) V[xi]^T (tiles x cIn),  U = A dy A^T, V = B^T d B,
// 16 multiply-adds per tile and channel pair instead of 4 x 9 = 36. Signs: with S = diag(1, 1, 1, -1),
// U is computed as S A dy A^T S = Â dy Â^T, Â = [1 0; 1 1; 1 -1; 0 1] (additions only), and the
// output transform (conv2dGradWeightWinogradF32, in JavaScript) uses S G instead of G.
// Four neighbouring tiles are transformed at once (one f32x4 per entry); their lanes are four
// consecutive rows of the GEMMs' depth, stored one by one into the packed panels.

const PARAMS = [
  'x', 'xStride', 'dy', 'dyStride', 'bufPad', 'bufDy', 'bufA', 'bufB', 'c', 'b0', 'b1',
  'h', 'w', 'outH', 'outW', 'cIn', 'cOut', 'mp', 'np', 'tilesY', 'tilesX', 'padH', 'padW', 'group',
] as const;

export const WINOGRAD_GRAD_WEIGHT_IMAGES = kernel('winogradGradWeightImages', PARAMS, emitWinogradGradWeight);

/**
 * winogradGradWeightImages(...PARAMS), byte addresses: images [b0, b1) on one thread, `group`
 * images per set of GEMMs (depth = group x tiles). Image b: x + b xStride ([cIn, h, w]), its
 * gradient dy + b dyStride ([cOut, outH, outW]). Scratch: bufPad (the zero-padded image, [cIn,
 * 2 tilesY + 2, 2 tilesX + 2]), bufDy (dy padded with zeros to [cOut, 2 tilesY, 2 tilesX]), bufA
 * (16 packed-A matrices U[xi], [mp x group tiles] each), bufB (16 packed-B matrices V[xi]^T,
 * [group tiles x np] each). c: 16 matrices M[xi] [mp x np], written by the first group and
 * accumulated by the others. tilesX is a multiple of 4.
 */
function emitWinogradGradWeight(f: FunctionBody, a: Params<(typeof PARAMS)[number]>, ctx: EmitContext): void {
  const local = () => f.local('i32');
  const hp = local(), wp = local(), rowBytes = local(), planeBytes = local(), dyRowBytes = local(), dyPlaneBytes = local();
  const tiles = local(), depth = local(), aStride = local(), bStride = local(), cStride = local();
  const g0 = local(), gEnd = local(), b = local(), ch = local(), r = local(), ty = local(), tx = local();
  const k = local(), ks = local(), kcb = local(), src = local(), dst = local(), ptr = local(), jBase = local();
  const v = Array.from({ length: 16 }, () => f.local('v128'));
  const t = Array.from({ length: 4 }, () => f.local('v128'));

  paddedPlanes(f, a.tilesY, a.tilesX, { hp, wp, rowBytes, planeBytes });
  f.get(a.tilesX).i32(8).i32Mul().set(dyRowBytes);
  f.get(dyRowBytes).get(a.tilesY).i32Mul().i32(2).i32Mul().set(dyPlaneBytes);
  f.get(a.tilesY).get(a.tilesX).i32Mul().set(tiles);
  f.get(a.group).get(tiles).i32Mul().set(depth);
  f.get(a.mp).get(depth).i32Mul().i32(4).i32Mul().set(aStride);
  f.get(depth).get(a.np).i32Mul().i32(4).i32Mul().set(bStride);
  f.get(a.mp).get(a.np).i32Mul().i32(4).i32Mul().set(cStride);
  // borders stay zero: images only overwrite the interiors; so do the panels' padding rows of A
  // (co >= cOut) and columns of B (ci >= cIn), which the GEMMs read (leftover denormals are slow)
  f.get(a.bufPad).i32(0).get(planeBytes).get(a.cIn).i32Mul().memoryFill();
  f.get(a.bufDy).i32(0).get(dyPlaneBytes).get(a.cOut).i32Mul().memoryFill();
  f.get(a.bufA).i32(0).get(aStride).i32(16).i32Mul().memoryFill();
  f.get(a.bufB).i32(0).get(bStride).i32(16).i32Mul().memoryFill();

  /** k = depth row of the tiles at (ty, tx) of the image; ks, kcb: its K block's start and size. */
  const depthRow = () => {
    f.get(ty).get(a.tilesX).i32Mul().get(tx).i32Add().get(jBase).i32Add().set(k);
    f.get(k).i32(KC).i32DivU().i32(KC).i32Mul().set(ks);
    f.get(depth).get(ks).i32Sub().set(kcb);
    f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
  };
  /** Stores the four lanes of `value` (tiles k .. k + 3) at dst + xi stride + lane laneBytes. */
  const storeLanes = (value: () => void, xi: number, stride: number, laneBytes: number) => {
    for (let lane = 0; lane < 4; lane++) {
      f.get(dst);
      if (xi > 0) f.get(stride).i32(xi).i32Mul().i32Add();
      value();
      f.f32x4ExtractLane(lane).f32Store(lane * laneBytes);
    }
  };

  f.forRange(g0, () => f.get(a.b0), a.b1, { local: a.group }, () => {
    f.get(g0).get(a.group).i32Add().set(gEnd);
    f.get(gEnd).get(a.b1).i32GeU().if(() => { f.get(a.b1).set(gEnd); });
    f.get(gEnd).get(g0).i32Sub().get(tiles).i32Mul().set(depth);
    f.forRange(b, () => f.get(g0), gEnd, 1, () => {
      f.get(b).get(g0).i32Sub().get(tiles).i32Mul().set(jBase);
      // 1. image b into the interior of the padded planes, dy_b into the top left of its planes
      const copy = { src, dst, plane: ch, row: r };
      f.get(a.x).get(b).get(a.xStride).i32Mul().i32Add().set(src);
      copyPlanes(f, copy, a.cIn, a.h, a.w, rowBytes, () => {
        f.get(a.bufPad).get(ch).get(planeBytes).i32Mul().i32Add()
          .get(a.padH).get(rowBytes).i32Mul().i32Add().get(a.padW).i32(4).i32Mul().i32Add();
      });
      f.get(a.dy).get(b).get(a.dyStride).i32Mul().i32Add().set(src);
      copyPlanes(f, copy, a.cOut, a.outH, a.outW, dyRowBytes, () => { f.get(a.bufDy).get(ch).get(dyPlaneBytes).i32Mul().i32Add(); });

      // 2. V[xi](tile, ci) = (B^T d B)[xi] into packed-B panels (column ci, depth row = tile)
      f.forRange(ch, () => f.i32(0), a.cIn, 1, () => {
        f.forRange(ty, () => f.i32(0), a.tilesY, 1, () => {
          f.forRange(tx, () => f.i32(0), a.tilesX, 4, () => {
            f.get(a.bufPad).get(ch).get(planeBytes).i32Mul().i32Add()
              .get(ty).get(rowBytes).i32Mul().i32(2).i32Mul().i32Add().get(tx).i32(8).i32Mul().i32Add().set(ptr);
            inputTransform2x2(f, v, t, ptr, rowBytes);
            depthRow();
            // element (k, ci) of V[0]^T: K block at ks np, panel ci / NR of kcb NR, row k - ks, column ci mod NR
            f.get(a.bufB).get(ks).get(a.np).i32Mul().get(ch).i32(3).i32ShrU().get(kcb).i32Mul().i32(NR).i32Mul().i32Add()
              .get(k).get(ks).i32Sub().i32(NR).i32Mul().i32Add().get(ch).i32(7).i32And().i32Add().i32(4).i32Mul().i32Add().set(dst);
            for (let xi = 0; xi < 16; xi++) storeLanes(() => f.get(v[xi]!), xi, bStride, NR * 4);
          });
        });
      });

      // 3. U[xi](co, tile) = (Â dy Â^T)[xi] into packed-A panels (row co, depth row = tile)
      f.forRange(ch, () => f.i32(0), a.cOut, 1, () => {
        f.forRange(ty, () => f.i32(0), a.tilesY, 1, () => {
          f.forRange(tx, () => f.i32(0), a.tilesX, 4, () => {
            f.get(a.bufDy).get(ch).get(dyPlaneBytes).i32Mul().i32Add()
              .get(ty).get(dyRowBytes).i32Mul().i32(2).i32Mul().i32Add().get(tx).i32(8).i32Mul().i32Add().set(ptr);
            // dy tile rows (p, q): the four tiles' left and right pixels of rows 0 (v0, v1) and 1 (v2, v3)
            for (let row = 0; row < 2; row++) {
              const load = (offset: number) => {
                f.get(ptr);
                if (row > 0) f.get(dyRowBytes).i32Add();
                f.v128Load(offset);
              };
              load(0); load(16); f.f32x4Shuffle([0, 2, 4, 6]).set(v[row * 2]!);
              load(0); load(16); f.f32x4Shuffle([1, 3, 5, 7]).set(v[row * 2 + 1]!);
            }
            depthRow();
            f.get(a.bufA).get(ks).get(a.mp).i32Mul().get(ch).i32(2).i32ShrU().get(kcb).i32Mul().i32(MR).i32Mul().i32Add()
              .get(k).get(ks).i32Sub().i32(MR).i32Mul().i32Add().get(ch).i32(3).i32And().i32Add().i32(4).i32Mul().i32Add().set(dst);
            // Â rows: (a, b), (a + c, b + d), (a - c, b - d), (c, d); then each (p, q) -> (p, p + q, p - q, q)
            const rows: [() => void, () => void][] = [
              [() => f.get(v[0]!), () => f.get(v[1]!)],
              [() => f.get(v[0]!).get(v[2]!).f32x4Add(), () => f.get(v[1]!).get(v[3]!).f32x4Add()],
              [() => f.get(v[0]!).get(v[2]!).f32x4Sub(), () => f.get(v[1]!).get(v[3]!).f32x4Sub()],
              [() => f.get(v[2]!), () => f.get(v[3]!)],
            ];
            rows.forEach(([p, q], i) => {
              p(); f.set(t[0]!);
              q(); f.set(t[1]!);
              f.get(t[0]!).get(t[1]!).f32x4Add().set(t[2]!);
              f.get(t[0]!).get(t[1]!).f32x4Sub().set(t[3]!);
              [t[0]!, t[2]!, t[3]!, t[1]!].forEach((value, j) => storeLanes(() => f.get(value), i * 4 + j, aStride, MR * 4));
            });
          });
        });
      });
    });

    // 4. M[xi] (+)= U[xi] V[xi]^T over the group's tiles (the first group stores)
    for (let xi = 0; xi < 16; xi++) {
      ctx.call('gemm', {
        a: () => f.get(a.bufA).i32(xi).get(aStride).i32Mul().i32Add(),
        b: () => f.get(a.bufB).i32(xi).get(bStride).i32Mul().i32Add(),
        c: () => f.get(a.c).i32(xi).get(cStride).i32Mul().i32Add(),
        mt0: () => f.i32(0), mt1: () => f.get(a.mp).i32(MR).i32DivU(),
        nt0: () => f.i32(0), nt1: () => f.get(a.np).i32(NR).i32DivU(),
        k: () => f.get(depth), mp4: () => f.get(a.mp).i32(4).i32Mul(), np4: () => f.get(a.np).i32(4).i32Mul(),
        accumulate: () => f.get(g0).get(a.b0).i32Ne(),
      });
    }
  });
}
