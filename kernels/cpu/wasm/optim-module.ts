import type { FunctionBody } from './builder';
import { kernel, type Params } from './kernel-def';

// AdamW over f32x4 lanes, the JavaScript loop's formula (kernels/cpu/optim.ts) one float32
// operation at a time, so both give the same bits:
//   g' = g scale, m' = m b1 + g' ob1, v' = v b2 + (g' g') ob2,
//   p' = p decay - (m' stepSize) / (sqrt(v' invC2) + eps)
// The scalars (src/backend/adamw-scalars.ts) come as their float32 bits. Likewise the EMA
// update out = x alpha + y beta.

const SCALARS = ['scale', 'b1', 'ob1', 'b2', 'ob2', 'invC2', 'eps', 'stepSize', 'decay'] as const;
const ADAMW_PARAMS = ['p', 'g', 'm', 'v', 'outP', 'outM', 'outV', 'begin', 'end', ...SCALARS] as const;

export const ADAMW = kernel('adamw', ADAMW_PARAMS, emitAdamw);

/** adamw(...ADAMW_PARAMS): byte offsets [begin, end) of every buffer, 16 bytes a step. */
function emitAdamw(f: FunctionBody, a: Params<(typeof ADAMW_PARAMS)[number]>): void {
  const i = f.local('i32'), gi = f.local('v128'), m1 = f.local('v128'), v1 = f.local('v128');
  const k = Object.fromEntries(SCALARS.map((name) => {
    const l = f.local('v128');
    f.get(a[name]).f32ReinterpretI32().f32x4Splat().set(l);
    return [name, l];
  })) as Record<(typeof SCALARS)[number], number>;
  const at = (buffer: number) => f.get(buffer).get(i).i32Add();
  f.forRange(i, () => f.get(a.begin), a.end, 16, () => {
    at(a.g).v128Load().get(k.scale).f32x4Mul().set(gi);
    at(a.m).v128Load().get(k.b1).f32x4Mul().get(gi).get(k.ob1).f32x4Mul().f32x4Add().set(m1);
    at(a.v).v128Load().get(k.b2).f32x4Mul().get(gi).get(gi).f32x4Mul().get(k.ob2).f32x4Mul().f32x4Add().set(v1);
    at(a.outP);
    at(a.p).v128Load().get(k.decay).f32x4Mul();
    f.get(m1).get(k.stepSize).f32x4Mul();
    f.get(v1).get(k.invC2).f32x4Mul().f32x4Sqrt().get(k.eps).f32x4Add();
    f.f32x4Div().f32x4Sub().v128Store();
    at(a.outM).get(m1).v128Store();
    at(a.outV).get(v1).v128Store();
  });
}

const AXPBY_PARAMS = ['x', 'y', 'out', 'begin', 'end', 'alpha', 'beta'] as const;

export const AXPBY = kernel('axpby', AXPBY_PARAMS, emitAxpby);

/** axpby(x, y, out, begin, end, alpha, beta): out = x alpha + y beta over byte offsets [begin, end), alpha and beta as float32 bits. */
function emitAxpby(f: FunctionBody, a: Params<(typeof AXPBY_PARAMS)[number]>): void {
  const i = f.local('i32'), alpha = f.local('v128'), beta = f.local('v128');
  f.get(a.alpha).f32ReinterpretI32().f32x4Splat().set(alpha);
  f.get(a.beta).f32ReinterpretI32().f32x4Splat().set(beta);
  f.forRange(i, () => f.get(a.begin), a.end, 16, () => {
    f.get(a.out).get(i).i32Add();
    f.get(a.x).get(i).i32Add().v128Load().get(alpha).f32x4Mul();
    f.get(a.y).get(i).i32Add().v128Load().get(beta).f32x4Mul();
    f.f32x4Add().v128Store();
  });
}
