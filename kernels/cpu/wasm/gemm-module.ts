import type { FunctionBody } from './builder';
import { kernel, type EmitContext, type Params } from './kernel-def';

/** Rows of C per micro-kernel tile. */
export const MR = 4;
/** Columns of C per micro-kernel tile (two f32x4 vectors). */
export const NR = 8;
/** Depth of one K block: a B panel of KC x NR floats (8 KiB) stays in L1 while A streams from L2. */
export const KC = 256;

// The table entries (kernels.ts) of the GEMM and its packing kernels. Other files' kernels call
// them by name (EmitContext.call) and share the panel layout through MR, NR and KC.

const GEMM_PARAMS = ['a', 'b', 'c', 'mt0', 'mt1', 'nt0', 'nt1', 'k', 'mp4', 'np4', 'accumulate'] as const;
const PACK_A_PARAMS = ['src', 'dst', 'rs', 'cs', 'm', 'k', 'mp', 'mt0', 'mt1'] as const;
const PACK_B_PARAMS = ['src', 'dst', 'rs', 'cs', 'k', 'n', 'np', 'nt0', 'nt1'] as const;

export const GEMM = kernel('gemm', GEMM_PARAMS, emitGemm);
export const PACK_A = kernel('packA', PACK_A_PARAMS, emitPackA);
export const PACK_B = kernel('packB', PACK_B_PARAMS, emitPackB);

/**
 * packA(src, dst, rs, cs, m, k, mp, mt0, mt1): A panels [mt0, mt1) (the layout of gemm.ts's
 * packA), element (i, p) at src + 4 (i rs + p cs), byte addresses; rows past m are zero.
 */
function emitPackA(f: FunctionBody, p: Params<(typeof PACK_A_PARAMS)[number]>): void {
  const { src, dst, rs, cs, m, k, mp, mt0, mt1 } = p;
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
function emitPackB(f: FunctionBody, p: Params<(typeof PACK_B_PARAMS)[number]>): void {
  const { src, dst, rs, cs, k, n, np, nt0, nt1 } = p;
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
 * gemm(a, b, c, mt0, mt1, nt0, nt1, k, mp4, np4, accumulate): C tiles [mt0, mt1) x [nt0, nt1)
 * = A B (or += A B when accumulate is 1), on packed
 * panels (byte addresses). For K block ks (size kcb = min(KC, k - ks)):
 *   A panel (ks, mt) at a + 4 (ks Mp + mt MR kcb), laid out [kcb][MR];
 *   B panel (ks, nt) at b + 4 (ks Np + nt NR kcb), laid out [kcb][NR];
 * C is row-major Mp x Np (np4 = 4 Np bytes per row). mp4 = 4 Mp.
 * The first K block stores (unless accumulate), later ones accumulate. Each tile keeps MR x NR/4 f32x4 accumulators
 * in locals (registers): per k, NR/4 vector loads of B, MR splat loads of A, MR NR/4 mul + add
 * (one relaxed_madd each where the module has relaxed SIMD).
 */
function emitGemm(f: FunctionBody, p: Params<(typeof GEMM_PARAMS)[number]>, ctx: EmitContext): void {
  const { a, b, c, mt0, mt1, nt0, nt1, k, mp4, np4, accumulate } = p;
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
              if (ctx.features.relaxedMadd) f.get(av).get(bv[v]!).get(x).f32x4RelaxedMadd().set(x);
              else f.get(x).get(av).get(bv[v]!).f32x4Mul().f32x4Add().set(x);
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
