import type { FunctionBody } from './builder';
import { kernel, type Params } from './kernel-def';

// Sums of rows of contiguous values (a bias gradient: dy [n, c, h w] summed over n and h w is
// the sums of its n c rows of h w values, added over n by the driver). Each row sums in f32x4
// over chunks of 64 values, each chunk's four lanes added in f64 (as group norm's sums), the tail
// one value at a time in f64; the row's sum is stored as an f64.

const ROW_SUMS_PARAMS = ['x', 'sums', 'run', 'row0', 'row1'] as const;

export const ROW_SUMS = kernel('rowSums', ROW_SUMS_PARAMS, emitRowSums);

/** rowSums(x, sums, run, row0, row1): sums[row] (f64) = sum of x[row run, (row + 1) run) for rows [row0, row1). */
function emitRowSums(f: FunctionBody, a: Params<(typeof ROW_SUMS_PARAMS)[number]>): void {
  const row = f.local('i32'), p = f.local('i32'), chunks = f.local('i32'), end = f.local('i32');
  const total = f.local('f64'), acc = f.local('v128');
  f.forRange(row, () => f.get(a.row0), a.row1, 1, () => {
    f.get(row).get(a.run).i32Mul().i32(2).i32Shl().get(a.x).i32Add().set(p);
    f.get(p).get(a.run).i32(-64).i32And().i32(2).i32Shl().i32Add().set(chunks);
    f.get(p).get(a.run).i32(2).i32Shl().i32Add().set(end);
    f.f64(0).set(total);
    f.forRange(p, () => f.get(p), chunks, 256, () => {
      f.get(p).v128Load(0).set(acc);
      for (let k = 1; k < 16; k++) f.get(acc).get(p).v128Load(16 * k).f32x4Add().set(acc);
      for (let lane = 0; lane < 4; lane++) f.get(total).get(acc).f32x4ExtractLane(lane).f64PromoteF32().f64Add().set(total);
    });
    f.forRange(p, () => f.get(p), end, 4, () => {
      f.get(total).get(p).f32Load().f64PromoteF32().f64Add().set(total);
    });
    f.get(a.sums).get(row).i32(3).i32Shl().i32Add().get(total).f64Store();
  });
}
