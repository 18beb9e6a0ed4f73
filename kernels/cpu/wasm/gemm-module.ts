import { FunctionBody, ModuleBuilder } from './builder';

/** Rows of C per micro-kernel tile. */
export const MR = 4;
/** Columns of C per micro-kernel tile (two f32x4 vectors). */
export const NR = 8;
/** Depth of one K block: a B panel of KC x NR floats (8 KiB) stays in L1 while A streams from L2. */
export const KC = 256;

/**
 * gemm(a, b, c, mt0, mt1, nTiles, k, mp4, np4): C[tiles mt0..mt1) x [0..nTiles) = A B, on packed
 * panels (byte addresses). For K block ks (size kcb = min(KC, k - ks)):
 *   A panel (ks, mt) at a + 4 (ks Mp + mt MR kcb), laid out [kcb][MR];
 *   B panel (ks, nt) at b + 4 (ks Np + nt NR kcb), laid out [kcb][NR];
 * C is row-major Mp x Np (np4 = 4 Np bytes per row). mp4 = 4 Mp.
 * The first K block stores, later ones accumulate. Each tile keeps MR x NR/4 f32x4 accumulators
 * in locals (registers): per k, NR/4 vector loads of B, MR splat loads of A, MR NR/4 mul + add.
 */
export function buildGemmModule(): Uint8Array {
  const m = new ModuleBuilder();
  m.function('gemm', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (f) => emitGemm(f));
  return m.encode();
}

function emitGemm(f: FunctionBody): void {
  const [a, b, c, mt0, mt1, nTiles, k, mp4, np4] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
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
    f.forRange(jt, () => f.i32(0), nTiles, 1, () => {
      f.forRange(it, () => f.get(mt0), mt1, 1, () => {
        // aP = aBlk + it * MR * kcb * 4; bP = bBlk + jt * NR * kcb * 4; cP = c + it MR np4 + jt NR 4
        f.get(aBlk).get(it).get(kcb).i32Mul().i32(MR * 4).i32Mul().i32Add().set(aP);
        f.get(bBlk).get(jt).get(kcb).i32Mul().i32(NR * 4).i32Mul().i32Add().set(bP);
        f.get(c).get(it).i32(MR).i32Mul().get(np4).i32Mul().i32Add().get(jt).i32(NR * 4).i32Mul().i32Add().set(cP);
        // accumulators: zero on the first K block, else the partial sums in C
        f.get(ks).i32Eqz().if(
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
