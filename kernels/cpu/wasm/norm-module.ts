import type { FunctionBody } from './builder';
import { kernel, type Params } from './kernel-def';

// Group norm forward over f32x4 lanes, as the reference (kernels/cpu/norm.ts): per (image, group)
// the mean, then the biased variance about it (two passes), out = (x - mean) rstd gamma + beta.
// Sums run in f32x4 over chunks of 64 values, each chunk's four lanes then added in f64: the
// rounding error stays near 16 float32 ulps of the sum of |terms|, whatever the group's size.

const CHUNK = 64;

/** Parameters of groupNorm, in order (addresses in bytes). */
const GROUP_NORM_PARAMS = ['x', 'out', 'gamma', 'beta', 'mean', 'rstd', 'item0', 'item1', 'groups', 'cpg', 'hw', 'epsBits'] as const;

export const GROUP_NORM = kernel('groupNorm', GROUP_NORM_PARAMS, emitGroupNorm);

/**
 * groupNorm(...GROUP_NORM_PARAMS): items [item0, item1), item = image groups + group, over x
 * [n, groups cpg, hw]; writes out (same layout), mean[item] and rstd[item]. eps is passed as its
 * float32 bits.
 */
function emitGroupNorm(f: FunctionBody, a: Params<(typeof GROUP_NORM_PARAMS)[number]>): void {
  const item = f.local('i32'), count = f.local('i32'), base = f.local('i32'), i = f.local('i32'), end = f.local('i32');
  const ch = f.local('i32'), channel = f.local('i32'), p = f.local('i32'), q = f.local('i32'), hw4 = f.local('i32');
  const total = f.local('f64'), mu = f.local('f64'), r = f.local('f64');
  const acc = f.local('v128'), v = f.local('v128'), muV = f.local('v128'), scaleV = f.local('v128'), betaV = f.local('v128');
  const muF = f.local('f32'), scale = f.local('f32'), beta = f.local('f32'), d = f.local('f32');

  /** total = sum over the group of x (squared = false) or (x - mu)^2 (squared = true). */
  const groupSum = (squared: boolean) => {
    f.f64(0).set(total);
    const term = (load: () => void, sub: () => void, mul: () => void, tmp: number) => {
      load();
      if (squared) { sub(); f.tee(tmp).get(tmp); mul(); }
    };
    f.get(count).i32(-CHUNK).i32And().i32(2).i32Shl().get(base).i32Add().set(end); // end of the whole chunks
    f.forRange(i, () => f.get(base), end, CHUNK * 4, () => {
      f.f32(0).f32x4Splat().set(acc);
      for (let k = 0; k < CHUNK / 4; k++) {
        term(() => f.get(acc).get(i).v128Load(16 * k), () => f.get(muV).f32x4Sub(), () => f.f32x4Mul(), v);
        f.f32x4Add().set(acc);
      }
      for (let lane = 0; lane < 4; lane++) f.get(total).get(acc).f32x4ExtractLane(lane).f64PromoteF32().f64Add().set(total);
    });
    // the tail, one value at a time
    f.get(base).get(count).i32(2).i32Shl().i32Add().set(end);
    f.forRange(i, () => f.get(i), end, 4, () => {
      f.get(total);
      term(() => f.get(i).f32Load(), () => f.get(muF).f32Sub(), () => f.f32Mul(), d);
      f.f64PromoteF32().f64Add().set(total);
    });
  };

  f.get(a.cpg).get(a.hw).i32Mul().set(count);
  f.get(a.hw).i32(-4).i32And().set(hw4);
  f.forRange(item, () => f.get(a.item0), a.item1, 1, () => {
    f.get(item).get(count).i32Mul().i32(2).i32Shl().set(base);
    // mean, then the variance about it
    f.get(a.x).get(base).i32Add().set(base);
    groupSum(false);
    f.get(total).get(count).f64ConvertI32U().f64Div().set(mu);
    f.get(mu).f32DemoteF64().tee(muF).f32x4Splat().set(muV);
    groupSum(true);
    f.f64(1).get(total).get(count).f64ConvertI32U().f64Div().get(a.epsBits).f32ReinterpretI32().f64PromoteF32().f64Add().f64Sqrt().f64Div().set(r);
    f.get(a.mean).get(item).i32(2).i32Shl().i32Add().get(muF).f32Store();
    f.get(a.rstd).get(item).i32(2).i32Shl().i32Add().get(r).f32DemoteF64().f32Store();
    // out = (x - mean) (rstd gamma[c]) + beta[c], channel by channel
    f.forRange(ch, () => f.i32(0), a.cpg, 1, () => {
      f.get(item).get(a.groups).i32RemU().get(a.cpg).i32Mul().get(ch).i32Add().i32(2).i32Shl().set(channel);
      f.get(r).get(a.gamma).get(channel).i32Add().f32Load().f64PromoteF32().f64Mul().f32DemoteF64().tee(scale).f32x4Splat().set(scaleV);
      f.get(a.beta).get(channel).i32Add().f32Load().tee(beta).f32x4Splat().set(betaV);
      f.get(base).get(ch).get(a.hw).i32Mul().i32(2).i32Shl().i32Add().set(p);
      f.get(p).get(a.x).i32Sub().get(a.out).i32Add().set(q);
      f.get(p).get(hw4).i32(2).i32Shl().i32Add().set(end);
      f.forRange(p, () => f.get(p), end, 16, () => {
        f.get(q).get(p).v128Load().get(muV).f32x4Sub().get(scaleV).f32x4Mul().get(betaV).f32x4Add().v128Store();
        f.get(q).i32(16).i32Add().set(q);
      });
      f.get(end).get(a.hw).get(hw4).i32Sub().i32(2).i32Shl().i32Add().set(end);
      f.forRange(p, () => f.get(p), end, 4, () => {
        f.get(q).get(p).f32Load().get(muF).f32Sub().get(scale).f32Mul().get(beta).f32Add().f32Store();
        f.get(q).i32(4).i32Add().set(q);
      });
    });
  });
}
