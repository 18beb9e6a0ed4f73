import type { FunctionBody } from './builder';
import { emitExp, expConstants } from './activation-module';
import { kernel, type Params } from './kernel-def';

// Softmax over rows of `cols` contiguous values (cols a multiple of 4) and its gradient, as the
// reference (kernels/cpu/softmax.ts). Forward, per row: the maximum (f32x4 max, then across the
// lanes), e = exp(x - max) stored into out with the SiLU kernel's vector exp, their sum, then
// out = e / sum. Backward: dot = sum gy y, then gx = y (gy - dot). Sums run in f32x4 over chunks
// of 64 values, each chunk's four lanes then added in f64 (as group norm's and the row sums'), the
// rest of the row a vector at a time, its lanes added in f64. Addresses are in bytes.

const SOFTMAX_PARAMS = ['x', 'out', 'cols', 'row0', 'row1'] as const;
const SOFTMAX_BACKWARD_PARAMS = ['y', 'gy', 'gx', 'cols', 'row0', 'row1'] as const;

export const SOFTMAX_ROWS = kernel('softmaxRows', SOFTMAX_PARAMS, emitSoftmax);
export const SOFTMAX_ROWS_BACKWARD = kernel('softmaxRowsBackward', SOFTMAX_BACKWARD_PARAMS, emitSoftmaxBackward);

const CHUNK = 64;

/**
 * total (f64) = the sum over byte offsets [begin, end) (16-byte steps) of the f32x4 that
 * `term(i, offset)` leaves for the vector at i + offset: whole chunks of CHUNK values in f32x4,
 * each chunk's lanes added in f64, then the rest one vector at a time.
 */
function emitChunkedSum(f: FunctionBody, begin: number, end: number, total: number, term: (i: number, offset: number) => void): void {
  const i = f.local('i32'), chunksEnd = f.local('i32'), acc = f.local('v128');
  const lanes = () => { for (let lane = 0; lane < 4; lane++) f.get(total).get(acc).f32x4ExtractLane(lane).f64PromoteF32().f64Add().set(total); };
  f.f64(0).set(total);
  // chunksEnd = begin + ((end - begin) & -(CHUNK 4))
  f.get(end).get(begin).i32Sub().i32(-CHUNK * 4).i32And().get(begin).i32Add().set(chunksEnd);
  f.forRange(i, () => f.get(begin), chunksEnd, CHUNK * 4, () => {
    term(i, 0);
    f.set(acc);
    for (let k = 1; k < CHUNK / 4; k++) {
      f.get(acc);
      term(i, 16 * k);
      f.f32x4Add().set(acc);
    }
    lanes();
  });
  f.forRange(i, () => f.get(chunksEnd), end, 16, () => {
    term(i, 0);
    f.set(acc);
    lanes();
  });
}

/**
 * softmaxRows(x, out, cols, row0, row1): rows [row0, row1) of [rows, cols] (cols a multiple of
 * 4): out = exp(x - max) / sum exp(x - max). out may be x.
 */
function emitSoftmax(f: FunctionBody, a: Params<(typeof SOFTMAX_PARAMS)[number]>): void {
  const row = f.local('i32'), begin = f.local('i32'), end = f.local('i32'), i = f.local('i32');
  const total = f.local('f64'), mx = f.local('v128'), v = f.local('v128'), e = f.local('v128'), t = f.local('v128'), r = f.local('v128');
  const c = expConstants(f);
  f.forRange(row, () => f.get(a.row0), a.row1, 1, () => {
    // begin, end: the row's byte offsets from x and out
    f.get(row).get(a.cols).i32Mul().i32(2).i32Shl().set(begin);
    f.get(begin).get(a.cols).i32(2).i32Shl().i32Add().set(end);
    f.f32(-Infinity).f32x4Splat().set(mx);
    f.forRange(i, () => f.get(begin), end, 16, () => {
      f.get(mx).get(a.x).get(i).i32Add().v128Load().f32x4Max().set(mx);
    });
    f.get(mx).get(mx).get(mx).f32x4Shuffle([2, 3, 0, 1]).f32x4Max().set(mx);
    f.get(mx).get(mx).get(mx).f32x4Shuffle([1, 0, 3, 2]).f32x4Max().set(mx);
    // e = exp(x - max) into out, summed as it is stored
    emitChunkedSum(f, begin, end, total, (at, offset) => {
      f.get(a.x).get(at).i32Add().v128Load(offset).get(mx).f32x4Sub().set(v);
      emitExp(f, c, v, e, t, r);
      f.get(a.out).get(at).i32Add().get(e).v128Store(offset);
      f.get(e);
    });
    f.get(total).f32DemoteF64().f32x4Splat().set(v);
    f.forRange(i, () => f.get(begin), end, 16, () => {
      f.get(a.out).get(i).i32Add();
      f.get(a.out).get(i).i32Add().v128Load().get(v).f32x4Div();
      f.v128Store();
    });
  });
}

/** softmaxRowsBackward(y, gy, gx, cols, row0, row1): gx = y (gy - sum over the row of gy y). gx may be gy. */
function emitSoftmaxBackward(f: FunctionBody, a: Params<(typeof SOFTMAX_BACKWARD_PARAMS)[number]>): void {
  const row = f.local('i32'), begin = f.local('i32'), end = f.local('i32'), i = f.local('i32');
  const total = f.local('f64'), dot = f.local('v128');
  f.forRange(row, () => f.get(a.row0), a.row1, 1, () => {
    f.get(row).get(a.cols).i32Mul().i32(2).i32Shl().set(begin);
    f.get(begin).get(a.cols).i32(2).i32Shl().i32Add().set(end);
    emitChunkedSum(f, begin, end, total, (at, offset) => {
      f.get(a.gy).get(at).i32Add().v128Load(offset).get(a.y).get(at).i32Add().v128Load(offset).f32x4Mul();
    });
    f.get(total).f32DemoteF64().f32x4Splat().set(dot);
    f.forRange(i, () => f.get(begin), end, 16, () => {
      f.get(a.gx).get(i).i32Add();
      f.get(a.y).get(i).i32Add().v128Load();
      f.get(a.gy).get(i).i32Add().v128Load().get(dot).f32x4Sub();
      f.f32x4Mul().v128Store();
    });
  });
}
