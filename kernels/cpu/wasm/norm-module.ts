import type { FunctionBody } from './builder';
import { emitSiluGradOf, emitSiluOf, expConstants, siluScratch } from './activation-module';
import { kernel, type Params } from './kernel-def';

// Group norm forward over f32x4 lanes, as the reference (kernels/cpu/norm.ts): per (image, group)
// the mean, then the biased variance about it (two passes), out = (x - mean) rstd gamma + beta.
// Sums run in f32x4 over chunks of 64 values, each chunk's four lanes then added in f64: the
// rounding error stays near 16 float32 ulps of the sum of |terms|, whatever the group's size.
// With silu = 1 the output is SiLU of that, as the silu kernel computes it (bit for bit).

const CHUNK = 64;

/** A channel's affine map (x - mean) scale + beta: its locals as f32x4 splats and as f32. */
interface Affine { muV: number; scaleV: number; betaV: number; muF: number; scale: number; beta: number }

/** y (a v128 local) = the affine map of what `load` leaves: an f32x4, or an f32 (the result splatted). */
function emitAffine(f: FunctionBody, a: Affine, load: () => void, vector: boolean, y: number): void {
  load();
  if (vector) f.get(a.muV).f32x4Sub().get(a.scaleV).f32x4Mul().get(a.betaV).f32x4Add();
  else f.get(a.muF).f32Sub().get(a.scale).f32Mul().get(a.beta).f32Add().f32x4Splat();
  f.set(y);
}

/** Parameters of groupNorm, in order (addresses in bytes). */
const GROUP_NORM_PARAMS = ['x', 'out', 'gamma', 'beta', 'mean', 'rstd', 'item0', 'item1', 'groups', 'cpg', 'hw', 'epsBits', 'silu'] as const;

export const GROUP_NORM = kernel('groupNorm', GROUP_NORM_PARAMS, emitGroupNorm);

/**
 * groupNorm(...GROUP_NORM_PARAMS): items [item0, item1), item = image groups + group, over x
 * [n, groups cpg, hw]; writes out (same layout), mean[item] and rstd[item]. eps is passed as its
 * float32 bits. silu = 1: out = silu(normalised).
 */
function emitGroupNorm(f: FunctionBody, a: Params<(typeof GROUP_NORM_PARAMS)[number]>): void {
  const item = f.local('i32'), count = f.local('i32'), base = f.local('i32'), i = f.local('i32'), end = f.local('i32');
  const ch = f.local('i32'), channel = f.local('i32'), p = f.local('i32'), q = f.local('i32'), hw4 = f.local('i32');
  const total = f.local('f64'), mu = f.local('f64'), r = f.local('f64');
  const acc = f.local('v128'), v = f.local('v128'), muV = f.local('v128'), scaleV = f.local('v128'), betaV = f.local('v128');
  const muF = f.local('f32'), scale = f.local('f32'), beta = f.local('f32'), d = f.local('f32');
  const c = expConstants(f), k = siluScratch(f), y = f.local('v128');
  const affine: Affine = { muV, scaleV, betaV, muF, scale, beta };

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
      // y = (x - mean) scale + beta, then SiLU when asked; the tail a value at a time (in lane 0)
      const outputs = (silu: boolean) => {
        const store = () => {
          if (silu) emitSiluOf(f, c, y, k);
          else f.get(y);
        };
        f.forRange(p, () => f.get(p), end, 16, () => {
          emitAffine(f, affine, () => f.get(p).v128Load(), true, y);
          f.get(q);
          store();
          f.v128Store();
          f.get(q).i32(16).i32Add().set(q);
        });
        f.get(end).get(a.hw).get(hw4).i32Sub().i32(2).i32Shl().i32Add().set(end);
        f.forRange(p, () => f.get(p), end, 4, () => {
          emitAffine(f, affine, () => f.get(p).f32Load(), false, y);
          f.get(q);
          store();
          f.f32x4ExtractLane(0).f32Store();
          f.get(q).i32(4).i32Add().set(q);
        });
      };
      f.get(a.silu).if(() => outputs(true), () => outputs(false));
    });
  });
}

// Group norm backward, as the reference (kernels/cpu/norm.ts groupNormBackwardInto): with
// xhat = (x - mean) rstd, per (image, group) the channel sums sdy = sum dy and sdyx = sum dy xhat
// (f32x4 over chunks of 64, each chunk's lanes added in f64), written per (image, channel) for the
// driver to add into dbeta and dgamma; then dx = rstd (dy gamma - mean(dy gamma) - xhat mean(dy gamma xhat)).

const GROUP_NORM_BACKWARD_PARAMS = ['gy', 'x', 'gx', 'gamma', 'mean', 'rstd', 'sdy', 'sdyx', 'item0', 'item1', 'groups', 'cpg', 'hw'] as const;

export const GROUP_NORM_BACKWARD = kernel('groupNormBackward', GROUP_NORM_BACKWARD_PARAMS, emitGroupNormBackward);

/** groupNormBackward(...GROUP_NORM_BACKWARD_PARAMS): items [item0, item1) of [n, groups cpg, hw]; sdy, sdyx are [n, groups cpg]. */
function emitGroupNormBackward(f: FunctionBody, a: Params<(typeof GROUP_NORM_BACKWARD_PARAMS)[number]>): void {
  const item = f.local('i32'), count = f.local('i32'), ch = f.local('i32'), channel = f.local('i32'), row = f.local('i32');
  const p = f.local('i32'), end = f.local('i32'), chunks = f.local('i32'), vecEnd = f.local('i32');
  const totalY = f.local('f64'), totalYX = f.local('f64'), sumD = f.local('f64'), sumDX = f.local('f64');
  const muF = f.local('f32'), rF = f.local('f32'), gm = f.local('f32'), mD = f.local('f32'), mDX = f.local('f32'), dy = f.local('f32');
  const muV = f.local('v128'), rV = f.local('v128'), gmV = f.local('v128'), mDV = f.local('v128'), mDXV = f.local('v128');
  const accY = f.local('v128'), accYX = f.local('v128'), dyV = f.local('v128');

  /** The byte offset of value p (a byte offset within the tensor) in tensor `base`. */
  const at = (base: number) => f.get(base).get(p).i32Add();

  f.get(a.cpg).get(a.hw).i32Mul().set(count);
  f.forRange(item, () => f.get(a.item0), a.item1, 1, () => {
    f.get(a.mean).get(item).i32(2).i32Shl().i32Add().f32Load().tee(muF).f32x4Splat().set(muV);
    f.get(a.rstd).get(item).i32(2).i32Shl().i32Add().f32Load().tee(rF).f32x4Splat().set(rV);
    f.f64(0).set(sumD);
    f.f64(0).set(sumDX);
    // the channel sums
    f.forRange(ch, () => f.i32(0), a.cpg, 1, () => {
      f.get(item).get(a.cpg).i32Mul().get(ch).i32Add().set(row); // (image, channel) = item cpg + ch
      f.get(item).get(a.groups).i32RemU().get(a.cpg).i32Mul().get(ch).i32Add().i32(2).i32Shl().set(channel);
      f.get(a.gamma).get(channel).i32Add().f32Load().set(gm);
      f.get(row).get(a.hw).i32Mul().i32(2).i32Shl().set(p);
      f.get(p).get(a.hw).i32(-64).i32And().i32(2).i32Shl().i32Add().set(chunks);
      f.get(p).get(a.hw).i32(2).i32Shl().i32Add().set(end);
      f.f64(0).set(totalY);
      f.f64(0).set(totalYX);
      f.forRange(p, () => f.get(p), chunks, 256, () => {
        f.f32(0).f32x4Splat().set(accY);
        f.f32(0).f32x4Splat().set(accYX);
        for (let k = 0; k < 16; k++) {
          at(a.gy).v128Load(16 * k).tee(dyV).get(accY).f32x4Add().set(accY);
          at(a.x).v128Load(16 * k).get(muV).f32x4Sub().get(rV).f32x4Mul().get(dyV).f32x4Mul().get(accYX).f32x4Add().set(accYX);
        }
        for (let lane = 0; lane < 4; lane++) {
          f.get(totalY).get(accY).f32x4ExtractLane(lane).f64PromoteF32().f64Add().set(totalY);
          f.get(totalYX).get(accYX).f32x4ExtractLane(lane).f64PromoteF32().f64Add().set(totalYX);
        }
      });
      // the tail, one value at a time
      f.forRange(p, () => f.get(p), end, 4, () => {
        at(a.gy).f32Load().tee(dy).f64PromoteF32().get(totalY).f64Add().set(totalY);
        at(a.x).f32Load().get(muF).f32Sub().get(rF).f32Mul().get(dy).f32Mul().f64PromoteF32().get(totalYX).f64Add().set(totalYX);
      });
      f.get(a.sdy).get(row).i32(2).i32Shl().i32Add().get(totalY).f32DemoteF64().f32Store();
      f.get(a.sdyx).get(row).i32(2).i32Shl().i32Add().get(totalYX).f32DemoteF64().f32Store();
      f.get(sumD).get(totalY).get(gm).f64PromoteF32().f64Mul().f64Add().set(sumD);
      f.get(sumDX).get(totalYX).get(gm).f64PromoteF32().f64Mul().f64Add().set(sumDX);
    });
    f.get(sumD).get(count).f64ConvertI32U().f64Div().f32DemoteF64().tee(mD).f32x4Splat().set(mDV);
    f.get(sumDX).get(count).f64ConvertI32U().f64Div().f32DemoteF64().tee(mDX).f32x4Splat().set(mDXV);
    // dx = rstd (dy gamma - mD - xhat mDX)
    f.forRange(ch, () => f.i32(0), a.cpg, 1, () => {
      f.get(item).get(a.groups).i32RemU().get(a.cpg).i32Mul().get(ch).i32Add().i32(2).i32Shl().set(channel);
      f.get(a.gamma).get(channel).i32Add().f32Load().tee(gm).f32x4Splat().set(gmV);
      f.get(item).get(a.cpg).i32Mul().get(ch).i32Add().get(a.hw).i32Mul().i32(2).i32Shl().set(p);
      f.get(p).get(a.hw).i32(-4).i32And().i32(2).i32Shl().i32Add().set(vecEnd);
      f.get(p).get(a.hw).i32(2).i32Shl().i32Add().set(end);
      f.forRange(p, () => f.get(p), vecEnd, 16, () => {
        at(a.gx);
        at(a.gy).v128Load().get(gmV).f32x4Mul().get(mDV).f32x4Sub();
        at(a.x).v128Load().get(muV).f32x4Sub().get(rV).f32x4Mul().get(mDXV).f32x4Mul();
        f.f32x4Sub().get(rV).f32x4Mul().v128Store();
      });
      f.forRange(p, () => f.get(p), end, 4, () => {
        at(a.gx);
        at(a.gy).f32Load().get(gm).f32Mul().get(mD).f32Sub();
        at(a.x).f32Load().get(muF).f32Sub().get(rF).f32Mul().get(mDX).f32Mul();
        f.f32Sub().get(rF).f32Mul().f32Store();
      });
    });
  });
}

// The gradient through SiLU after group norm, before group norm's own backward: d = dy silu'(y),
// y = (x - mean) (rstd gamma) + beta recomputed from the forward's statistics.

const GROUP_NORM_SILU_GRAD_PARAMS = ['gy', 'x', 'gamma', 'beta', 'mean', 'rstd', 'd', 'item0', 'item1', 'groups', 'cpg', 'hw'] as const;

export const GROUP_NORM_SILU_GRAD = kernel('groupNormSiluGrad', GROUP_NORM_SILU_GRAD_PARAMS, emitGroupNormSiluGrad);

/** groupNormSiluGrad(...GROUP_NORM_SILU_GRAD_PARAMS): items [item0, item1) of [n, groups cpg, hw]. */
function emitGroupNormSiluGrad(f: FunctionBody, a: Params<(typeof GROUP_NORM_SILU_GRAD_PARAMS)[number]>): void {
  const item = f.local('i32'), ch = f.local('i32'), channel = f.local('i32'), p = f.local('i32'), end = f.local('i32'), vecEnd = f.local('i32');
  const muF = f.local('f32'), rF = f.local('f32'), scale = f.local('f32'), beta = f.local('f32');
  const muV = f.local('v128'), scaleV = f.local('v128'), betaV = f.local('v128'), y = f.local('v128');
  const c = expConstants(f), k = siluScratch(f);
  const affine: Affine = { muV, scaleV, betaV, muF, scale, beta };
  const at = (base: number) => f.get(base).get(p).i32Add();
  f.forRange(item, () => f.get(a.item0), a.item1, 1, () => {
    f.get(a.mean).get(item).i32(2).i32Shl().i32Add().f32Load().tee(muF).f32x4Splat().set(muV);
    f.get(a.rstd).get(item).i32(2).i32Shl().i32Add().f32Load().set(rF);
    f.forRange(ch, () => f.i32(0), a.cpg, 1, () => {
      f.get(item).get(a.groups).i32RemU().get(a.cpg).i32Mul().get(ch).i32Add().i32(2).i32Shl().set(channel);
      f.get(rF).f64PromoteF32().get(a.gamma).get(channel).i32Add().f32Load().f64PromoteF32().f64Mul().f32DemoteF64().tee(scale).f32x4Splat().set(scaleV);
      f.get(a.beta).get(channel).i32Add().f32Load().tee(beta).f32x4Splat().set(betaV);
      f.get(item).get(a.cpg).i32Mul().get(ch).i32Add().get(a.hw).i32Mul().i32(2).i32Shl().set(p);
      f.get(p).get(a.hw).i32(-4).i32And().i32(2).i32Shl().i32Add().set(vecEnd);
      f.get(p).get(a.hw).i32(2).i32Shl().i32Add().set(end);
      f.forRange(p, () => f.get(p), vecEnd, 16, () => {
        emitAffine(f, affine, () => at(a.x).v128Load(), true, y);
        at(a.d);
        emitSiluGradOf(f, c, y, () => at(a.gy).v128Load(), k);
        f.v128Store();
      });
      f.forRange(p, () => f.get(p), end, 4, () => {
        emitAffine(f, affine, () => at(a.x).f32Load(), false, y);
        at(a.d);
        emitSiluGradOf(f, c, y, () => at(a.gy).f32Load().f32x4Splat(), k);
        f.f32x4ExtractLane(0).f32Store();
      });
    });
  });
}
