import type { FunctionBody } from './builder';
import { kernel, type Params } from './kernel-def';

// Nearest-neighbour x2 up-sampling of rows of w values (w a multiple of 4) and its gradient, four
// input columns a step. Forward: [a b c d] becomes [a a b b] [c c d d] on both output rows.
// Backward: each input gradient is the sum of its 2x2 block, (top pair + bottom pair) in float32.

const UPSAMPLE_PARAMS = ['x', 'out', 'w', 'row0', 'row1'] as const;

export const UPSAMPLE_2X = kernel('upsample2x', UPSAMPLE_PARAMS, emitUpsample);
export const UPSAMPLE_2X_BACKWARD = kernel('upsample2xBackward', UPSAMPLE_PARAMS, emitUpsampleBackward);

/** upsample2x(x, out, w, row0, row1): input rows [row0, row1) (all planes' rows in a row) into out's rows 2 row and 2 row + 1. */
function emitUpsample(f: FunctionBody, a: Params<(typeof UPSAMPLE_PARAMS)[number]>): void {
  const row = f.local('i32'), p = f.local('i32'), end = f.local('i32'), q = f.local('i32'), rowBytes2 = f.local('i32'), v = f.local('v128');
  f.get(a.w).i32(3).i32Shl().set(rowBytes2); // an output row: 2 w floats
  f.forRange(row, () => f.get(a.row0), a.row1, 1, () => {
    f.get(row).get(a.w).i32Mul().i32(2).i32Shl().get(a.x).i32Add().set(p);
    f.get(p).get(a.w).i32(2).i32Shl().i32Add().set(end);
    f.get(row).get(rowBytes2).i32Mul().i32(1).i32Shl().get(a.out).i32Add().set(q);
    f.forRange(p, () => f.get(p), end, 16, () => {
      f.get(p).v128Load().set(v);
      for (const [offset, lanes] of [[0, [0, 0, 1, 1]], [16, [2, 2, 3, 3]]] as const) {
        f.get(q).get(v).get(v).f32x4Shuffle(lanes).v128Store(offset);
        f.get(q).get(rowBytes2).i32Add().get(v).get(v).f32x4Shuffle(lanes).v128Store(offset);
      }
      f.get(q).i32(32).i32Add().set(q);
    });
  });
}

/** upsample2xBackward(x = dy, out = dx, w, row0, row1): dx rows [row0, row1) of w values from dy's rows 2 row, 2 row + 1. */
function emitUpsampleBackward(f: FunctionBody, a: Params<(typeof UPSAMPLE_PARAMS)[number]>): void {
  const row = f.local('i32'), p = f.local('i32'), end = f.local('i32'), q = f.local('i32'), rowBytes2 = f.local('i32');
  const top = f.local('v128'), bottom = f.local('v128');
  f.get(a.w).i32(3).i32Shl().set(rowBytes2);
  /** The pair sums of the 8 values at address `at`: [v0 + v1, v2 + v3, v4 + v5, v6 + v7]. */
  const pairSums = (at: () => void) => {
    at(); f.v128Load(0); at(); f.v128Load(16); f.f32x4Shuffle([0, 2, 4, 6]);
    at(); f.v128Load(0); at(); f.v128Load(16); f.f32x4Shuffle([1, 3, 5, 7]);
    f.f32x4Add();
  };
  f.forRange(row, () => f.get(a.row0), a.row1, 1, () => {
    f.get(row).get(a.w).i32Mul().i32(2).i32Shl().get(a.out).i32Add().set(p);
    f.get(p).get(a.w).i32(2).i32Shl().i32Add().set(end);
    f.get(row).get(rowBytes2).i32Mul().i32(1).i32Shl().get(a.x).i32Add().set(q);
    f.forRange(p, () => f.get(p), end, 16, () => {
      pairSums(() => f.get(q));
      f.set(top);
      pairSums(() => f.get(q).get(rowBytes2).i32Add());
      f.set(bottom);
      f.get(p).get(top).get(bottom).f32x4Add().v128Store();
      f.get(q).i32(32).i32Add().set(q);
    });
  });
}
