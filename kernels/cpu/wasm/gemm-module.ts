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

const GEMM_BATCH_PARAMS = [
  'a', 'b', 'out', 'aStride', 'bStride', 't0', 't1', 'm', 'k', 'n', 'mp', 'np', 'aRs', 'aCs', 'bRs', 'bCs', 'aBuf', 'bBuf', 'cBuf', 'exact',
] as const;

export const GEMM = kernel('gemm', GEMM_PARAMS, emitGemm);
export const GEMM_BATCH = kernel('gemmBatch', GEMM_BATCH_PARAMS, emitGemmBatch);
export const PACK_A = kernel('packA', PACK_A_PARAMS, emitPackA);
export const PACK_B = kernel('packB', PACK_B_PARAMS, emitPackB);

/**
 * Transposes the 4x4 block in locals `rows` (four f32x4 rows) into its four columns, leaving them
 * in the same locals; `t` are four scratch v128 locals.
 */
function emitTranspose4(f: FunctionBody, rows: readonly number[], t: readonly number[]): void {
  const [a, b, c, d] = rows as [number, number, number, number];
  f.get(a).get(b).f32x4Shuffle([0, 4, 1, 5]).set(t[0]!);
  f.get(a).get(b).f32x4Shuffle([2, 6, 3, 7]).set(t[1]!);
  f.get(c).get(d).f32x4Shuffle([0, 4, 1, 5]).set(t[2]!);
  f.get(c).get(d).f32x4Shuffle([2, 6, 3, 7]).set(t[3]!);
  f.get(t[0]!).get(t[2]!).f32x4Shuffle([0, 1, 4, 5]).set(a);
  f.get(t[0]!).get(t[2]!).f32x4Shuffle([2, 3, 6, 7]).set(b);
  f.get(t[1]!).get(t[3]!).f32x4Shuffle([0, 1, 4, 5]).set(c);
  f.get(t[1]!).get(t[3]!).f32x4Shuffle([2, 3, 6, 7]).set(d);
}

/**
 * packA(src, dst, rs, cs, m, k, mp, mt0, mt1): A panels [mt0, mt1) (the layout of gemm.ts's
 * packA), element (i, p) at src + 4 (i rs + p cs), byte addresses; rows past m are zero.
 * Whole panels move a vector at a time: row-major A (cs = 1) as 4x4 blocks transposed with
 * shuffles, column-major A (rs = 1) four rows in one load; other panels one value at a time.
 */
function emitPackA(f: FunctionBody, p: Params<(typeof PACK_A_PARAMS)[number]>): void {
  const { src, dst, rs, cs, m, k, mp, mt0, mt1 } = p;
  const ks = f.local('i32'), kcb = f.local('i32'), mt = f.local('i32'), kk = f.local('i32');
  const d = f.local('i32'), s = f.local('i32'), row = f.local('i32'), kk4 = f.local('i32'), step = f.local('i32');
  const v = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const t = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  f.forRange(ks, () => f.i32(0), k, KC, () => {
    f.get(k).get(ks).i32Sub().set(kcb);
    f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
    f.get(kcb).i32(-4).i32And().set(kk4);
    f.forRange(mt, () => f.get(mt0), mt1, 1, () => {
      // d = dst + 4 (ks mp + mt MR kcb)
      f.get(dst).get(ks).get(mp).i32Mul().get(mt).i32(MR).i32Mul().get(kcb).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(d);
      // whole panel: rows mt MR + MR <= m
      f.get(m).get(mt).i32(MR).i32Mul().i32(MR).i32Add().i32GeU();
      f.get(cs).i32(1).i32Eq().i32And().if(
        () => {
          // row-major: s = src + 4 (mt MR rs + ks); 4 values of each of the 4 rows, transposed
          f.get(src).get(mt).i32(MR).i32Mul().get(rs).i32Mul().get(ks).i32Add().i32(2).i32Shl().i32Add().set(s);
          f.get(rs).i32(2).i32Shl().set(step);
          f.forRange(kk, () => f.i32(0), kk4, 4, () => {
            for (let r = 0; r < MR; r++) {
              f.get(s);
              if (r > 0) f.get(step).i32(r).i32Mul().i32Add();
              f.v128Load().set(v[r]!);
            }
            emitTranspose4(f, v, t);
            for (let r = 0; r < MR; r++) f.get(d).get(v[r]!).v128Store(16 * r);
            f.get(d).i32(64).i32Add().set(d);
            f.get(s).i32(16).i32Add().set(s);
          });
          f.forRange(kk, () => f.get(kk4), kcb, 1, () => {
            for (let r = 0; r < MR; r++) {
              f.get(d);
              f.get(s);
              if (r > 0) f.get(step).i32(r).i32Mul().i32Add();
              f.f32Load().f32Store(4 * r);
            }
            f.get(d).i32(16).i32Add().set(d);
            f.get(s).i32(4).i32Add().set(s);
          });
        },
        () => {
          f.get(m).get(mt).i32(MR).i32Mul().i32(MR).i32Add().i32GeU();
          f.get(rs).i32(1).i32Eq().i32And().if(
            () => {
              // column-major: the panel's 4 rows of one p are adjacent
              f.get(src).get(mt).i32(MR).i32Mul().get(ks).get(cs).i32Mul().i32Add().i32(2).i32Shl().i32Add().set(s);
              f.get(cs).i32(2).i32Shl().set(step);
              f.forRange(kk, () => f.i32(0), kcb, 1, () => {
                f.get(d).get(s).v128Load().v128Store();
                f.get(d).i32(16).i32Add().set(d);
                f.get(s).get(step).i32Add().set(s);
              });
            },
            () => {
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
            },
          );
        },
      );
    });
  });
}

/**
 * packB(src, dst, rs, cs, k, n, np, nt0, nt1): B panels [nt0, nt1) (NR columns each, K blocks
 * of KC) of the k x n matrix with element (p, j) at src + 4 (p rs + j cs); columns past n are zero.
 * Whole panels move a vector at a time: row-major B (cs = 1) as two loads per row, B stored
 * transposed (rs = 1) as two 4x4 blocks of 4 rows transposed with shuffles; other panels one
 * value at a time.
 */
function emitPackB(f: FunctionBody, p: Params<(typeof PACK_B_PARAMS)[number]>): void {
  const { src, dst, rs, cs, k, n, np, nt0, nt1 } = p;
  const ks = f.local('i32'), kcb = f.local('i32'), nt = f.local('i32'), kk = f.local('i32');
  const d = f.local('i32'), col = f.local('i32'), s = f.local('i32'), step = f.local('i32'), kk4 = f.local('i32'), whole = f.local('i32');
  const v = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const t = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  f.forRange(ks, () => f.i32(0), k, KC, () => {
    f.get(k).get(ks).i32Sub().set(kcb);
    f.get(kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(kcb); });
    f.get(kcb).i32(-4).i32And().set(kk4);
    f.forRange(nt, () => f.get(nt0), nt1, 1, () => {
      // d = dst + 4 (ks np + nt NR kcb)
      f.get(dst).get(ks).get(np).i32Mul().get(nt).i32(NR).i32Mul().get(kcb).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(d);
      // whole panel: columns nt NR + NR <= n
      f.get(n).get(nt).i32(NR).i32Mul().i32(NR).i32Add().i32GeU().set(whole);
      f.get(whole).get(cs).i32(1).i32Eq().i32And().if(
        () => {
          // row-major: s = src + 4 ((ks) rs + nt NR)
          f.get(src).get(ks).get(rs).i32Mul().get(nt).i32(NR).i32Mul().i32Add().i32(2).i32Shl().i32Add().set(s);
          f.get(rs).i32(2).i32Shl().set(step);
          f.forRange(kk, () => f.i32(0), kcb, 1, () => {
            f.get(d).get(s).v128Load(0).v128Store(0);
            f.get(d).get(s).v128Load(16).v128Store(16);
            f.get(d).i32(NR * 4).i32Add().set(d);
            f.get(s).get(step).i32Add().set(s);
          });
        },
        () => {
          f.get(whole).get(rs).i32(1).i32Eq().i32And().if(
            () => {
              // stored transposed: column j's values of consecutive p are adjacent; s = src + 4 (ks + nt NR cs)
              f.get(src).get(nt).i32(NR).i32Mul().get(cs).i32Mul().get(ks).i32Add().i32(2).i32Shl().i32Add().set(s);
              f.get(cs).i32(2).i32Shl().set(step);
              f.forRange(kk, () => f.i32(0), kk4, 4, () => {
                for (let half = 0; half < 2; half++) {
                  for (let c = 0; c < 4; c++) {
                    f.get(s);
                    if (half * 4 + c > 0) f.get(step).i32(half * 4 + c).i32Mul().i32Add();
                    f.v128Load().set(v[c]!);
                  }
                  emitTranspose4(f, v, t);
                  for (let r = 0; r < 4; r++) f.get(d).get(v[r]!).v128Store(r * NR * 4 + half * 16);
                }
                f.get(d).i32(4 * NR * 4).i32Add().set(d);
                f.get(s).i32(16).i32Add().set(s);
              });
              f.forRange(kk, () => f.get(kk4), kcb, 1, () => {
                for (let c = 0; c < NR; c++) {
                  f.get(d);
                  f.get(s);
                  if (c > 0) f.get(step).i32(c).i32Mul().i32Add();
                  f.f32Load().f32Store(4 * c);
                }
                f.get(d).i32(NR * 4).i32Add().set(d);
                f.get(s).i32(4).i32Add().set(s);
              });
            },
            () => {
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
            },
          );
        },
      );
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

/**
 * gemmBatch(...GEMM_BATCH_PARAMS): the batched product out_t [m x n] = A_t B_t for entries
 * [t0, t1) on one thread (the threads of a batched matmul each take whole entries), byte
 * addresses: A_t at a + t aStride with element (i, p) at 4 (i aRs + p cAs) from there, B_t at
 * b + t bStride with (p, j) at 4 (p bRs + j bCs); packed into aBuf (mp x k) and bBuf (k x np),
 * then the GEMM: straight into out_t when exact (mp = m and np = n), else into cBuf [mp x np]
 * and its rows copied into out_t.
 */
function emitGemmBatch(f: FunctionBody, p: Params<(typeof GEMM_BATCH_PARAMS)[number]>, ctx: EmitContext): void {
  const t = f.local('i32'), dst = f.local('i32'), i = f.local('i32');
  const arg = (name: keyof typeof p) => () => { f.get(p[name]); };
  const zero = () => { f.i32(0); };
  const bytes = (x: number) => () => { f.get(x).i32(4).i32Mul(); };
  f.forRange(t, () => f.get(p.t0), p.t1, 1, () => {
    ctx.call('packA', {
      src: () => { f.get(p.a).get(t).get(p.aStride).i32Mul().i32Add(); },
      dst: arg('aBuf'), rs: arg('aRs'), cs: arg('aCs'), m: arg('m'), k: arg('k'), mp: arg('mp'),
      mt0: zero, mt1: () => { f.get(p.mp).i32(MR).i32DivU(); },
    });
    ctx.call('packB', {
      src: () => { f.get(p.b).get(t).get(p.bStride).i32Mul().i32Add(); },
      dst: arg('bBuf'), rs: arg('bRs'), cs: arg('bCs'), k: arg('k'), n: arg('n'), np: arg('np'),
      nt0: zero, nt1: () => { f.get(p.np).i32(NR).i32DivU(); },
    });
    // out_t = out + 4 t m n
    f.get(p.out).get(t).get(p.m).i32Mul().get(p.n).i32Mul().i32(2).i32Shl().i32Add().set(dst);
    ctx.call('gemm', {
      a: arg('aBuf'), b: arg('bBuf'), c: () => { f.get(p.exact).if(() => { f.get(dst).set(i); }, () => { f.get(p.cBuf).set(i); }); f.get(i); },
      mt0: zero, mt1: () => { f.get(p.mp).i32(MR).i32DivU(); }, nt0: zero, nt1: () => { f.get(p.np).i32(NR).i32DivU(); },
      k: arg('k'), mp4: bytes(p.mp), np4: bytes(p.np), accumulate: zero,
    });
    f.get(p.exact).i32Eqz().if(() => {
      f.forRange(i, () => f.i32(0), p.m, 1, () => {
        f.get(dst).get(i).get(p.n).i32Mul().i32(2).i32Shl().i32Add();
        f.get(p.cBuf).get(i).get(p.np).i32Mul().i32(2).i32Shl().i32Add();
        f.get(p.n).i32(2).i32Shl();
        f.memoryCopy();
      });
    });
  });
}
