import { emitSilu, emitSiluGrad } from './activation-module';
import { FunctionBody, ModuleBuilder } from './builder';
import { emitBinaryRows, emitBinarySame, WASM_BINARY_OPS } from './binary-module';
import { emitGroupNorm, GROUP_NORM_ARGS } from './norm-module';
import { emitWinogradImages, WINOGRAD_ARGS } from './winograd-module';

/** Rows of C per micro-kernel tile. */
export const MR = 4;
/** Columns of C per micro-kernel tile (two f32x4 vectors). */
export const NR = 8;
/** Depth of one K block: a B panel of KC x NR floats (8 KiB) stays in L1 while A streams from L2. */
export const KC = 256;

/**
 * gemm(a, b, c, mt0, mt1, nt0, nt1, k, mp4, np4, accumulate): C tiles [mt0, mt1) x [nt0, nt1)
 * = A B (or += A B when accumulate is 1), on packed
 * panels (byte addresses). For K block ks (size kcb = min(KC, k - ks)):
 *   A panel (ks, mt) at a + 4 (ks Mp + mt MR kcb), laid out [kcb][MR];
 *   B panel (ks, nt) at b + 4 (ks Np + nt NR kcb), laid out [kcb][NR];
 * C is row-major Mp x Np (np4 = 4 Np bytes per row). mp4 = 4 Mp.
 * The first K block stores (unless accumulate), later ones accumulate. Each tile keeps MR x NR/4 f32x4 accumulators
 * in locals (registers): per k, NR/4 vector loads of B, MR splat loads of A, MR NR/4 mul + add.
 */
export function buildKernelModule(): Uint8Array {
  const i32 = (n: number) => new Array<'i32'>(n).fill('i32');
  const m = new ModuleBuilder();
  m.function('gemm', i32(11), (f) => emitGemm(f));
  m.function('im2col', i32(16), (f) => emitIm2col(f, false));
  m.function('im2colT', i32(16), (f) => emitIm2col(f, true));
  m.function('packA', i32(9), (f) => emitPackA(f));
  m.function('convImages', i32(24), (f) => emitConvImages(f, false));
  m.function('convGradWeightImages', i32(24), (f) => emitConvImages(f, true));
  m.function('packB', i32(9), (f) => emitPackB(f));
  m.function('silu', i32(4), (f) => emitSilu(f));
  m.function('siluGrad', i32(5), (f) => emitSiluGrad(f));
  m.function('winogradImages', i32(WINOGRAD_ARGS.length), (f) => emitWinogradImages(f, FN_GEMM));
  m.function('groupNorm', i32(GROUP_NORM_ARGS.length), (f) => emitGroupNorm(f));
  for (const op of WASM_BINARY_OPS) m.function(`binarySame_${op}`, i32(5), (f) => emitBinarySame(f, op));
  for (const op of WASM_BINARY_OPS) m.function(`binaryRows_${op}`, i32(8), (f) => emitBinaryRows(f, op));
  return m.encode();
}

const FN_GEMM = 0, FN_IM2COL = 1, FN_IM2COLT = 2, FN_PACK_A = 3;

/**
 * packA(src, dst, rs, cs, m, k, mp, mt0, mt1): A panels [mt0, mt1) (the layout of gemm.ts's
 * packA), element (i, p) at src + 4 (i rs + p cs), byte addresses; rows past m are zero.
 */
function emitPackA(f: FunctionBody): void {
  const [src, dst, rs, cs, m, k, mp, mt0, mt1] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ks = f.local('i32'), kcb = f.local('i32'), mt = f.local('i32'), kk = f.local('i32');
  const d = f.local('i32'), s = f.local('i32'), row = f.local('i32');
  f.forRange(ks, () => f.i32(0), k, KC, () => {
    f.get(k).get(ks).i32Sub().set(kcb);
    f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
    f.forRange(mt, () => f.get(mt0), mt1, 1, () => {
      // d = dst + 4 (ks mp + mt MR kcb)
      f.get(dst).get(ks).get(mp).i32Mul().get(mt).i32(MR).i32Mul().get(kcb).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(d);
      f.forRange(kk, () => f.i32(0), kcb, 1, () => {
        for (let r = 0; r < MR; r++) {
          f.get(mt).i32(MR).i32Mul().i32(r).i32Add().set(row);
          f.get(row).get(m).i32LtU().if(
            () => {
              f.get(src).get(row).get(rs).i32Mul().get(ks).get(kk).i32Add().get(cs).i32Mul().i32Add().i32(2).i32Shl().i32Add().set(s);
              f.get(d).get(s).f32Load().f32Store(4 * r);
            },
            () => { f.get(d).f32(0).f32Store(4 * r); },
          );
        }
        f.get(d).i32(MR * 4).i32Add().set(d);
      });
    });
  });
}

/**
 * packB(src, dst, rs, cs, k, n, np, nt0, nt1): B panels [nt0, nt1) (NR columns each, K blocks
 * of KC) of the k x n matrix with element (p, j) at src + 4 (p rs + j cs); columns past n are zero.
 */
function emitPackB(f: FunctionBody): void {
  const [src, dst, rs, cs, k, n, np, nt0, nt1] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ks = f.local('i32'), kcb = f.local('i32'), nt = f.local('i32'), kk = f.local('i32');
  const d = f.local('i32'), col = f.local('i32');
  f.forRange(ks, () => f.i32(0), k, KC, () => {
    f.get(k).get(ks).i32Sub().set(kcb);
    f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
    f.forRange(nt, () => f.get(nt0), nt1, 1, () => {
      // d = dst + 4 (ks np + nt NR kcb)
      f.get(dst).get(ks).get(np).i32Mul().get(nt).i32(NR).i32Mul().get(kcb).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(d);
      f.forRange(kk, () => f.i32(0), kcb, 1, () => {
        for (let c = 0; c < NR; c++) {
          f.get(nt).i32(NR).i32Mul().i32(c).i32Add().set(col);
          f.get(col).get(n).i32LtU().if(
            () => {
              f.get(d);
              f.get(src).get(ks).get(kk).i32Add().get(rs).i32Mul().get(col).get(cs).i32Mul().i32Add().i32(2).i32Shl().i32Add().f32Load();
              f.f32Store(4 * c);
            },
            () => { f.get(d).f32(0).f32Store(4 * c); },
          );
        }
        f.get(d).i32(NR * 4).i32Add().set(d);
      });
    });
  });
}

/**
 * Convolution over images [b0, b1) on one thread, im2col + GEMM per image, byte addresses:
 * (x, xStride, a, aStride, bBuf, c, cStride, b0, b1, h, w, kh, kw, strideH, strideW, padH, padW,
 *  outW, P, K, np, mp, m, aBuf); x + b xStride is image b.
 * - forward (gradWeight = false): a = packed weights [cOut x K]; image b's C [mp x np] (its output
 *   with padding) at c + b cStride. aStride, m and aBuf are unused.
 * - weight gradient: a + b aStride = dy_b [m = cOut rows x P], packed into aBuf per image; C at c
 *   accumulates dy_b col_b^T over the images ([mp x np], np = K padded). cStride is unused.
 */
function emitConvImages(f: FunctionBody, gradWeight: boolean): void {
  const [x, xStride, a, aStride, bBuf, c, cStride, b0, b1, h, w, kh, kw, strideH, strideW, padH, padW, outW, P, K, np, mp, m, aBuf] =
    Array.from({ length: 24 }, (_, i) => i) as number[];
  const b = f.local('i32');
  f.forRange(b!, () => f.get(b0!), b1!, 1, () => {
    f.get(x!).get(b!).get(xStride!).i32Mul().i32Add().get(bBuf!);
    for (const arg of [h, w, kh, kw, strideH, strideW, padH, padW, outW, P, K, np]) f.get(arg!);
    f.i32(0).get(np!).i32(NR).i32DivU();
    f.call(gradWeight ? FN_IM2COLT : FN_IM2COL);
    if (!gradWeight) {
      f.get(a!).get(bBuf!).get(c!).get(b!).get(cStride!).i32Mul().i32Add();
      f.i32(0).get(mp!).i32(MR).i32DivU().i32(0).get(np!).i32(NR).i32DivU();
      f.get(K!).get(mp!).i32(4).i32Mul().get(np!).i32(4).i32Mul().i32(0).call(FN_GEMM);
    } else {
      f.get(a!).get(b!).get(aStride!).i32Mul().i32Add().get(aBuf!).get(P!).i32(1).get(m!).get(P!).get(mp!).i32(0).get(mp!).i32(MR).i32DivU().call(FN_PACK_A);
      f.get(aBuf!).get(bBuf!).get(c!).i32(0).get(mp!).i32(MR).i32DivU().i32(0).get(np!).i32(NR).i32DivU();
      f.get(P!).get(mp!).i32(4).i32Mul().get(np!).i32(4).i32Mul().get(b!).get(b0!).i32Ne().call(FN_GEMM);
    }
  });
}

function emitGemm(f: FunctionBody): void {
  const [a, b, c, mt0, mt1, nt0, nt1, k, mp4, np4, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const ks = f.local('i32'), kcb = f.local('i32'), aBlk = f.local('i32'), bBlk = f.local('i32');
  const jt = f.local('i32'), it = f.local('i32'), aP = f.local('i32'), bP = f.local('i32'), cP = f.local('i32');
  const kk = f.local('i32'), kEnd = f.local('i32');
  const vecs = NR / 4;
  const acc: number[] = [];
  for (let r = 0; r < MR * vecs; r++) acc.push(f.local('v128'));
  const bv: number[] = [];
  for (let v = 0; v < vecs; v++) bv.push(f.local('v128'));
  const av = f.local('v128');

  f.forRange(ks, () => f.i32(0), k, KC, () => {
    // kcb = min(KC, k - ks)
    f.get(k).get(ks).i32Sub().set(kcb);
    f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
    f.get(a).get(ks).get(mp4).i32Mul().i32Add().set(aBlk);
    f.get(b).get(ks).get(np4).i32Mul().i32Add().set(bBlk);
    f.forRange(jt, () => f.get(nt0), nt1, 1, () => {
      f.forRange(it, () => f.get(mt0), mt1, 1, () => {
        // aP = aBlk + it * MR * kcb * 4; bP = bBlk + jt * NR * kcb * 4; cP = c + it MR np4 + jt NR 4
        f.get(aBlk).get(it).get(kcb).i32Mul().i32(MR * 4).i32Mul().i32Add().set(aP);
        f.get(bBlk).get(jt).get(kcb).i32Mul().i32(NR * 4).i32Mul().i32Add().set(bP);
        f.get(c).get(it).i32(MR).i32Mul().get(np4).i32Mul().i32Add().get(jt).i32(NR * 4).i32Mul().i32Add().set(cP);
        // accumulators: zero on the first K block (unless accumulating), else the partial sums in C
        f.get(ks).i32Eqz().get(accumulate).i32Eqz().i32And().if(
          () => {
            for (const x of acc) f.f32(0).f32x4Splat().set(x);
          },
          () => {
            for (let r = 0; r < MR; r++) {
              for (let v = 0; v < vecs; v++) {
                f.get(cP);
                if (r > 0) f.get(np4).i32(r).i32Mul().i32Add();
                f.v128Load(16 * v).set(acc[r * vecs + v]!);
              }
            }
          },
        );
        f.get(kcb).set(kEnd);
        f.forRange(kk, () => f.i32(0), kEnd, 1, () => {
          for (let v = 0; v < vecs; v++) f.get(bP).v128Load(16 * v).set(bv[v]!);
          for (let r = 0; r < MR; r++) {
            f.get(aP).v128Load32Splat(4 * r).set(av);
            for (let v = 0; v < vecs; v++) {
              const x = acc[r * vecs + v]!;
              f.get(x).get(av).get(bv[v]!).f32x4Mul().f32x4Add().set(x);
            }
          }
          f.get(aP).i32(MR * 4).i32Add().set(aP);
          f.get(bP).i32(NR * 4).i32Add().set(bP);
        });
        for (let r = 0; r < MR; r++) {
          for (let v = 0; v < vecs; v++) {
            f.get(cP);
            if (r > 0) f.get(np4).i32(r).i32Mul().i32Add();
            f.get(acc[r * vecs + v]!).v128Store(16 * v);
          }
        }
      });
    });
  });
}

/**
 * Packs a convolution's im2col matrix straight into GEMM B panels (layout as in emitGemm), for
 * panels [nt0, nt1), from one image x = [cIn, h, w] (byte address). Args:
 * (x, dst, h, w, kh, kw, strideH, strideW, padH, padW, outW, P, K, np, nt0, nt1), P = outH outW,
 * K = cIn kh kw.
 * - forward (transposed = false): B = col [K x P], B(kidx, p) = x[ci, oy sH - pH + ky, ox sW - pW + kx];
 *   GEMM depth K, width P.
 * - weight gradient (transposed = true): B = col^T [P x K]; GEMM depth P, width K.
 * Positions outside the image (padding) and columns past the width read as zero.
 */
function emitIm2col(f: FunctionBody, transposed: boolean): void {
  const [x, dst, h, w, kh, kw, strideH, strideW, padH, padW, outW, P, K, np, nt0, nt1] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const depth = transposed ? P : K; // the GEMM's inner dimension
  const width = transposed ? K : P; // the GEMM's N
  const nt = f.local('i32'), ks = f.local('i32'), kcb = f.local('i32'), kk = f.local('i32'), d = f.local('i32');
  const idx = f.local('i32'), t = f.local('i32');
  // per panel column c: the (row, column) offsets that do not change along the depth
  const colY: number[] = [], colX: number[] = [], colOff: number[] = [];
  for (let c = 0; c < NR; c++) {
    colY.push(f.local('i32'));
    colX.push(f.local('i32'));
    colOff.push(f.local('i32'));
  }
  // along the depth: forward walks kidx = (ci, ky, kx); transposed walks p = (oy, ox)
  const ci = f.local('i32'), ky = f.local('i32'), kx = f.local('i32'), rowY = f.local('i32'), rowX = f.local('i32'), rowOff = f.local('i32');
  const hw = f.local('i32'), khw = f.local('i32'), fast = f.local('i32'), ix0 = f.local('i32');
  const INVALID = 0x40000000;
  f.get(h).get(w).i32Mul().set(hw);
  f.get(kh).get(kw).i32Mul().set(khw);

  f.forRange(nt, () => f.get(nt0), nt1, 1, () => {
    for (let c = 0; c < NR; c++) {
      f.get(nt).i32(NR).i32Mul().i32(c).i32Add().set(idx);
      f.get(idx).get(width).i32LtU().if(
        () => {
          if (!transposed) {
            // p -> (oy, ox); row offset in the image sy = oy sH - pH, sx = ox sW - pW
            f.get(idx).get(outW).i32DivU().get(strideH).i32Mul().get(padH).i32Sub().set(colY[c]!);
            f.get(idx).get(outW).i32RemU().get(strideW).i32Mul().get(padW).i32Sub().set(colX[c]!);
            f.get(colY[c]!).get(w).i32Mul().get(colX[c]!).i32Add().set(colOff[c]!);
          } else {
            // kidx -> (ci, ky, kx); offsets ky - pH, kx - pW and ci h w + (ky - pH) w + (kx - pW)
            f.get(idx).get(khw).i32RemU().set(t);
            f.get(t).get(kw).i32DivU().get(padH).i32Sub().set(colY[c]!);
            f.get(t).get(kw).i32RemU().get(padW).i32Sub().set(colX[c]!);
            f.get(idx).get(khw).i32DivU().get(hw).i32Mul().get(colY[c]!).get(w).i32Mul().i32Add().get(colX[c]!).i32Add().set(colOff[c]!);
          }
        },
        () => {
          f.i32(INVALID).set(colY[c]!);
        },
      );
    }
    if (!transposed) {
      // Fast panels: stride 1 and all NR columns on one output row (so NR contiguous input pixels).
      f.get(strideW).i32(1).i32Eq().get(colY[0]!).get(colY[NR - 1]!).i32Eq().i32And().set(fast);
    }
    f.forRange(ks, () => f.i32(0), depth, KC, () => {
      f.get(depth).get(ks).i32Sub().set(kcb);
      f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
      // d = dst + 4 (ks np + nt NR kcb)
      f.get(dst).get(ks).get(np).i32Mul().get(nt).i32(NR).i32Mul().get(kcb).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(d);
      if (!transposed) {
        f.get(ks).get(khw).i32DivU().set(ci);
        f.get(ks).get(khw).i32RemU().set(t);
        f.get(t).get(kw).i32DivU().set(ky);
        f.get(t).get(kw).i32RemU().set(kx);
      } else {
        f.get(ks).get(outW).i32DivU().set(ky); // oy
        f.get(ks).get(outW).i32RemU().set(kx); // ox
      }
      f.forRange(kk, () => f.i32(0), kcb, 1, () => {
        if (!transposed) {
          f.get(ky).set(rowY);
          f.get(kx).set(rowX);
          f.get(ci).get(hw).i32Mul().get(ky).get(w).i32Mul().i32Add().get(kx).i32Add().set(rowOff);
        } else {
          f.get(ky).get(strideH).i32Mul().set(rowY);
          f.get(kx).get(strideW).i32Mul().set(rowX);
          f.get(rowY).get(w).i32Mul().get(rowX).i32Add().set(rowOff);
        }
        const scalarColumns = () => {
          for (let c = 0; c < NR; c++) {
            // valid when 0 <= rowY + colY < h and 0 <= rowX + colX < w (unsigned compares)
            f.get(rowY).get(colY[c]!).i32Add().get(h).i32LtU();
            f.get(rowX).get(colX[c]!).i32Add().get(w).i32LtU();
            f.i32And().if(
              () => {
                f.get(d).get(x).get(rowOff).get(colOff[c]!).i32Add().i32(2).i32Shl().i32Add().f32Load().f32Store(4 * c);
              },
              () => {
                f.get(d).f32(0).f32Store(4 * c);
              },
            );
          }
        };
        if (transposed) scalarColumns();
        else {
          // a fast panel whose row and NR columns all lie inside the image: two vector copies
          f.get(rowX).get(colX[0]!).i32Add().set(ix0);
          f.get(fast).get(rowY).get(colY[0]!).i32Add().get(h).i32LtU().i32And();
          f.get(ix0).get(w).i32LtU().i32And().get(ix0).i32(NR - 1).i32Add().get(w).i32LtU().i32And();
          f.if(
            () => {
              const addr = () => f.get(x).get(rowOff).get(colOff[0]!).i32Add().i32(2).i32Shl().i32Add();
              for (let v = 0; v < NR / 4; v++) {
                f.get(d);
                addr();
                f.v128Load(16 * v).v128Store(16 * v);
              }
            },
            scalarColumns,
          );
        }
        f.get(d).i32(NR * 4).i32Add().set(d);
        // next position along the depth
        f.get(kx).i32(1).i32Add().set(kx);
        if (!transposed) {
          f.get(kx).get(kw).i32GeU().if(() => {
            f.i32(0).set(kx);
            f.get(ky).i32(1).i32Add().set(ky);
            f.get(ky).get(kh).i32GeU().if(() => {
              f.i32(0).set(ky);
              f.get(ci).i32(1).i32Add().set(ci);
            });
          });
        } else {
          f.get(kx).get(outW).i32GeU().if(() => {
            f.i32(0).set(kx);
            f.get(ky).i32(1).i32Add().set(ky);
          });
        }
      });
    });
  });
}
