import type { FunctionBody } from './builder';
import { KC, MR, NR } from './gemm-module';
import { kernel, type EmitContext, type Params } from './kernel-def';

// The table entries (kernels.ts) of the im2col + GEMM convolution: im2col packs one image's
// columns straight into GEMM B panels (layout in gemm-module.ts); convImages runs whole images
// on one thread, calling im2col, packA and gemm by name.

const IM2COL_PARAMS = ['x', 'dst', 'h', 'w', 'kh', 'kw', 'strideH', 'strideW', 'padH', 'padW', 'outW', 'P', 'K', 'np', 'nt0', 'nt1'] as const;
const CONV_IMAGES_PARAMS = [
  'x', 'xStride', 'a', 'aStride', 'bBuf', 'c', 'cStride', 'b0', 'b1',
  'h', 'w', 'kh', 'kw', 'strideH', 'strideW', 'padH', 'padW', 'outW', 'P', 'K', 'np', 'mp', 'm', 'aBuf',
] as const;
type Im2colParams = Params<(typeof IM2COL_PARAMS)[number]>;

export const IM2COL = kernel('im2col', IM2COL_PARAMS, (f, p) => emitIm2col(f, p, false));
export const IM2COL_T = kernel('im2colT', IM2COL_PARAMS, (f, p) => emitIm2col(f, p, true));
export const CONV_IMAGES = kernel('convImages', CONV_IMAGES_PARAMS, (f, p, ctx) => emitConvImages(f, p, ctx, false));
export const CONV_GRAD_WEIGHT_IMAGES = kernel('convGradWeightImages', CONV_IMAGES_PARAMS, (f, p, ctx) => emitConvImages(f, p, ctx, true));

/**
 * Convolution over images [b0, b1) on one thread, im2col + GEMM per image, byte addresses:
 * (x, xStride, a, aStride, bBuf, c, cStride, b0, b1, h, w, kh, kw, strideH, strideW, padH, padW,
 *  outW, P, K, np, mp, m, aBuf); x + b xStride is image b.
 * - forward (gradWeight = false): a = packed weights [cOut x K]; image b's C [mp x np] (its output
 *   with padding) at c + b cStride. aStride, m and aBuf are unused.
 * - weight gradient: a + b aStride = dy_b [m = cOut rows x P], packed into aBuf per image; C at c
 *   accumulates dy_b col_b^T over the images ([mp x np], np = K padded). cStride is unused.
 */
function emitConvImages(f: FunctionBody, p: Params<(typeof CONV_IMAGES_PARAMS)[number]>, ctx: EmitContext, gradWeight: boolean): void {
  const b = f.local('i32');
  const arg = (name: keyof typeof p) => () => { f.get(p[name]); };
  const tiles = (n: number, size: number) => () => { f.get(n).i32(size).i32DivU(); };
  const zero = () => { f.i32(0); };
  const bytes = (n: number) => () => { f.get(n).i32(4).i32Mul(); };
  f.forRange(b, () => f.get(p.b0), p.b1, 1, () => {
    // the image's columns into bBuf: all np / NR panels
    ctx.call(gradWeight ? 'im2colT' : 'im2col', {
      x: () => { f.get(p.x).get(b).get(p.xStride).i32Mul().i32Add(); },
      dst: arg('bBuf'),
      h: arg('h'), w: arg('w'), kh: arg('kh'), kw: arg('kw'), strideH: arg('strideH'), strideW: arg('strideW'),
      padH: arg('padH'), padW: arg('padW'), outW: arg('outW'), P: arg('P'), K: arg('K'), np: arg('np'),
      nt0: zero, nt1: tiles(p.np, NR),
    });
    if (!gradWeight) {
      // C_b = W col_b
      ctx.call('gemm', {
        a: arg('a'), b: arg('bBuf'), c: () => { f.get(p.c).get(b).get(p.cStride).i32Mul().i32Add(); },
        mt0: zero, mt1: tiles(p.mp, MR), nt0: zero, nt1: tiles(p.np, NR),
        k: arg('K'), mp4: bytes(p.mp), np4: bytes(p.np), accumulate: zero,
      });
    } else {
      // dy_b into A panels, then C (+)= dy_b col_b^T (the first image stores)
      ctx.call('packA', {
        src: () => { f.get(p.a).get(b).get(p.aStride).i32Mul().i32Add(); },
        dst: arg('aBuf'), rs: arg('P'), cs: () => { f.i32(1); }, m: arg('m'), k: arg('P'), mp: arg('mp'),
        mt0: zero, mt1: tiles(p.mp, MR),
      });
      ctx.call('gemm', {
        a: arg('aBuf'), b: arg('bBuf'), c: arg('c'),
        mt0: zero, mt1: tiles(p.mp, MR), nt0: zero, nt1: tiles(p.np, NR),
        k: arg('P'), mp4: bytes(p.mp), np4: bytes(p.np), accumulate: () => { f.get(b).get(p.b0).i32Ne(); },
      });
    }
  });
}

/** Marks a panel column past the GEMM's width: its colY, far outside any image. */
const INVALID = 0x40000000;

/** The locals of im2col (allocated in this order). */
interface Im2colLocals {
  nt: number; ks: number; kcb: number; kk: number; d: number; idx: number; t: number;
  /** Per panel column c: the image row and column offsets, and their linear offset, fixed along the depth. */
  colY: number[]; colX: number[]; colOff: number[];
  /** The position along the depth: forward (ci, ky, kx); transposed (oy, ox) in (ky, kx). */
  ci: number; ky: number; kx: number;
  /** The depth position's row and column offsets in the image, and their linear offset. */
  rowY: number; rowX: number; rowOff: number;
  hw: number; khw: number; fast: number; ix0: number;
}

function im2colLocals(f: FunctionBody): Im2colLocals {
  const i32 = () => f.local('i32');
  const nt = i32(), ks = i32(), kcb = i32(), kk = i32(), d = i32(), idx = i32(), t = i32();
  const colY: number[] = [], colX: number[] = [], colOff: number[] = [];
  for (let c = 0; c < NR; c++) {
    colY.push(i32());
    colX.push(i32());
    colOff.push(i32());
  }
  const ci = i32(), ky = i32(), kx = i32(), rowY = i32(), rowX = i32(), rowOff = i32();
  const hw = i32(), khw = i32(), fast = i32(), ix0 = i32();
  return { nt, ks, kcb, kk, d, idx, t, colY, colX, colOff, ci, ky, kx, rowY, rowX, rowOff, hw, khw, fast, ix0 };
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
 * The element at (depth position, panel column c) is image pixel (rowY + colY[c], rowX + colX[c]),
 * offset rowOff + colOff[c]: the column part is computed once per panel, the row part once per
 * depth position, and the panel row is then copied by the vector path or the edge path.
 */
function emitIm2col(f: FunctionBody, p: Im2colParams, transposed: boolean): void {
  const depth = transposed ? p.P : p.K; // the GEMM's inner dimension
  const l = im2colLocals(f);
  f.get(p.h).get(p.w).i32Mul().set(l.hw);
  f.get(p.kh).get(p.kw).i32Mul().set(l.khw);

  f.forRange(l.nt, () => f.get(p.nt0), p.nt1, 1, () => {
    emitIm2colColumns(f, p, l, transposed);
    if (!transposed) {
      // Fast panels: stride 1 and all NR columns on one output row (so NR contiguous input pixels).
      f.get(p.strideW).i32(1).i32Eq().get(l.colY[0]!).get(l.colY[NR - 1]!).i32Eq().i32And().set(l.fast);
    }
    f.forRange(l.ks, () => f.i32(0), depth, KC, () => {
      f.get(depth).get(l.ks).i32Sub().set(l.kcb);
      f.get(l.kcb).i32(KC).i32GeU().if(() => { f.i32(KC).set(l.kcb); });
      // d = dst + 4 (ks np + nt NR kcb)
      f.get(p.dst).get(l.ks).get(p.np).i32Mul().get(l.nt).i32(NR).i32Mul().get(l.kcb).i32Mul().i32Add().i32(4).i32Mul().i32Add().set(l.d);
      emitIm2colDepthStart(f, p, l, transposed);
      f.forRange(l.kk, () => f.i32(0), l.kcb, 1, () => {
        emitIm2colRow(f, p, l, transposed);
        if (transposed) emitIm2colEdgeRow(f, p, l);
        else emitIm2colVectorRow(f, p, l);
        f.get(l.d).i32(NR * 4).i32Add().set(l.d);
        emitIm2colDepthStep(f, p, l, transposed);
      });
    });
  });
}

/**
 * The address computation per panel: for each of its NR columns (GEMM column idx = nt NR + c),
 * the offsets colY, colX, colOff that stay fixed along the depth; colY = INVALID past the width,
 * so the edge path reads zero there.
 * - forward: column p = (oy, ox), offsets oy sH - pH, ox sW - pW;
 * - transposed: column kidx = (ci, ky, kx), offsets ky - pH, kx - pW, plus ci h w in colOff.
 */
function emitIm2colColumns(f: FunctionBody, p: Im2colParams, l: Im2colLocals, transposed: boolean): void {
  const width = transposed ? p.K : p.P; // the GEMM's N
  const { idx, t, colY, colX, colOff } = l;
  for (let c = 0; c < NR; c++) {
    f.get(l.nt).i32(NR).i32Mul().i32(c).i32Add().set(idx);
    f.get(idx).get(width).i32LtU().if(
      () => {
        if (!transposed) {
          f.get(idx).get(p.outW).i32DivU().get(p.strideH).i32Mul().get(p.padH).i32Sub().set(colY[c]!);
          f.get(idx).get(p.outW).i32RemU().get(p.strideW).i32Mul().get(p.padW).i32Sub().set(colX[c]!);
          f.get(colY[c]!).get(p.w).i32Mul().get(colX[c]!).i32Add().set(colOff[c]!);
        } else {
          f.get(idx).get(l.khw).i32RemU().set(t);
          f.get(t).get(p.kw).i32DivU().get(p.padH).i32Sub().set(colY[c]!);
          f.get(t).get(p.kw).i32RemU().get(p.padW).i32Sub().set(colX[c]!);
          f.get(idx).get(l.khw).i32DivU().get(l.hw).i32Mul().get(colY[c]!).get(p.w).i32Mul().i32Add().get(colX[c]!).i32Add().set(colOff[c]!);
        }
      },
      () => {
        f.i32(INVALID).set(colY[c]!);
      },
    );
  }
}

/** The depth position of the K block's first row (ks): forward (ci, ky, kx) of kidx; transposed (oy, ox) of p, in ky, kx. */
function emitIm2colDepthStart(f: FunctionBody, p: Im2colParams, l: Im2colLocals, transposed: boolean): void {
  if (!transposed) {
    f.get(l.ks).get(l.khw).i32DivU().set(l.ci);
    f.get(l.ks).get(l.khw).i32RemU().set(l.t);
    f.get(l.t).get(p.kw).i32DivU().set(l.ky);
    f.get(l.t).get(p.kw).i32RemU().set(l.kx);
  } else {
    f.get(l.ks).get(p.outW).i32DivU().set(l.ky); // oy
    f.get(l.ks).get(p.outW).i32RemU().set(l.kx); // ox
  }
}

/**
 * The address computation per depth position (one panel row): rowY, rowX and rowOff, the row's
 * part of each pixel's offsets (forward: ky, kx and ci h w + ky w + kx; transposed: oy sH, ox sW).
 */
function emitIm2colRow(f: FunctionBody, p: Im2colParams, l: Im2colLocals, transposed: boolean): void {
  if (!transposed) {
    f.get(l.ky).set(l.rowY);
    f.get(l.kx).set(l.rowX);
    f.get(l.ci).get(l.hw).i32Mul().get(l.ky).get(p.w).i32Mul().i32Add().get(l.kx).i32Add().set(l.rowOff);
  } else {
    f.get(l.ky).get(p.strideH).i32Mul().set(l.rowY);
    f.get(l.kx).get(p.strideW).i32Mul().set(l.rowX);
    f.get(l.rowY).get(p.w).i32Mul().get(l.rowX).i32Add().set(l.rowOff);
  }
}

/**
 * The vector fast path (forward only): when the panel is fast (stride 1, its NR columns on one
 * output row) and the row's NR pixels all lie inside the image, they are contiguous in x: NR / 4
 * vector copies to d. Any other row takes the edge path.
 */
function emitIm2colVectorRow(f: FunctionBody, p: Im2colParams, l: Im2colLocals): void {
  // fast && 0 <= rowY + colY[0] < h && 0 <= ix0 < w && ix0 + NR - 1 < w (unsigned compares)
  f.get(l.rowX).get(l.colX[0]!).i32Add().set(l.ix0);
  f.get(l.fast).get(l.rowY).get(l.colY[0]!).i32Add().get(p.h).i32LtU().i32And();
  f.get(l.ix0).get(p.w).i32LtU().i32And().get(l.ix0).i32(NR - 1).i32Add().get(p.w).i32LtU().i32And();
  f.if(
    () => {
      const addr = () => f.get(p.x).get(l.rowOff).get(l.colOff[0]!).i32Add().i32(2).i32Shl().i32Add();
      for (let v = 0; v < NR / 4; v++) {
        f.get(l.d);
        addr();
        f.v128Load(16 * v).v128Store(16 * v);
      }
    },
    () => emitIm2colEdgeRow(f, p, l),
  );
}

/**
 * The edge path: each of the row's NR columns on its own, the pixel loaded when it lies inside
 * the image (0 <= rowY + colY < h and 0 <= rowX + colX < w, as unsigned compares), else zero
 * (padding, or a column past the width: colY = INVALID).
 */
function emitIm2colEdgeRow(f: FunctionBody, p: Im2colParams, l: Im2colLocals): void {
  for (let c = 0; c < NR; c++) {
    f.get(l.rowY).get(l.colY[c]!).i32Add().get(p.h).i32LtU();
    f.get(l.rowX).get(l.colX[c]!).i32Add().get(p.w).i32LtU();
    f.i32And().if(
      () => {
        f.get(l.d).get(p.x).get(l.rowOff).get(l.colOff[c]!).i32Add().i32(2).i32Shl().i32Add().f32Load().f32Store(4 * c);
      },
      () => {
        f.get(l.d).f32(0).f32Store(4 * c);
      },
    );
  }
}

/** The next depth position: forward (ci, ky, kx) with kx fastest; transposed (oy, ox). */
function emitIm2colDepthStep(f: FunctionBody, p: Im2colParams, l: Im2colLocals, transposed: boolean): void {
  const { ci, ky, kx } = l;
  f.get(kx).i32(1).i32Add().set(kx);
  if (!transposed) {
    f.get(kx).get(p.kw).i32GeU().if(() => {
      f.i32(0).set(kx);
      f.get(ky).i32(1).i32Add().set(ky);
      f.get(ky).get(p.kh).i32GeU().if(() => {
        f.i32(0).set(ky);
        f.get(ci).i32(1).i32Add().set(ci);
      });
    });
  } else {
    f.get(kx).get(p.outW).i32GeU().if(() => {
      f.i32(0).set(kx);
      f.get(ky).i32(1).i32Add().set(ky);
    });
  }
}
