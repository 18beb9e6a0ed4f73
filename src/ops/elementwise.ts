import { apply, Fn } from '../autograd/fn';
import type { BinaryOp, DifferentiableUnaryOp, UnaryOp } from '../backend/backend';
import { RawTensor } from '../tensor/raw';
import type { Tensor } from '../tensor/tensor';

export type TensorLike = Tensor | number;

/** A number becomes a 0-d tensor of the other operand's dtype (broadcasts to anything). */
export function asTensor(x: TensorLike, like: Tensor): Tensor {
  return typeof x === 'number' ? like.wrap(RawTensor.full([], x, like.dtype, like.raw.backend)) : x;
}

function pair(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a tensor.`);
  const ta = typeof a === 'number' ? asTensor(a, b as Tensor) : a;
  return [ta, asTensor(b, ta)];
}

// ---- unary ----

abstract class Unary extends Fn {
  protected x!: RawTensor;
  protected out!: RawTensor;
  constructor(private readonly op: UnaryOp) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.x = x;
    this.out = x.unary(this.op);
    return this.out;
  }
}

class Neg extends Unary {
  constructor() { super('neg'); }
  backward(g: RawTensor) { return [g.neg()]; }
}
class Exp extends Unary {
  constructor() { super('exp'); }
  backward(g: RawTensor) { return [g.mul(this.out)]; }
}
class Log extends Unary {
  constructor() { super('log'); }
  backward(g: RawTensor) { return [g.div(this.x)]; }
}
/** A unary op whose backward is the fused kernel grad * f'(x). */
class FusedGradUnary extends Unary {
  constructor(private readonly f: DifferentiableUnaryOp) { super(f); }
  override get name(): string { return this.f; }
  backward(g: RawTensor) { return [this.x.unaryGrad(this.f, g)]; }
}
class Sqrt extends Unary {
  constructor() { super('sqrt'); }
  backward(g: RawTensor) { return [g.div(this.out.mulScalar(2))]; }
}
class Square extends Unary {
  constructor() { super('square'); }
  backward(g: RawTensor) { return [g.mul(this.x).mulScalar(2)]; }
}
class Reciprocal extends Unary {
  constructor() { super('reciprocal'); }
  backward(g: RawTensor) { return [g.mul(this.out.unary('square')).neg()]; }
}

export const neg = (x: Tensor): Tensor => apply(new Neg(), x);
export const exp = (x: Tensor): Tensor => apply(new Exp(), x);
export const log = (x: Tensor): Tensor => apply(new Log(), x);
export const sin = (x: Tensor): Tensor => apply(new FusedGradUnary('sin'), x);
export const cos = (x: Tensor): Tensor => apply(new FusedGradUnary('cos'), x);
export const sqrt = (x: Tensor): Tensor => apply(new Sqrt(), x);
export const tanh = (x: Tensor): Tensor => apply(new FusedGradUnary('tanh'), x);
export const sigmoid = (x: Tensor): Tensor => apply(new FusedGradUnary('sigmoid'), x);
export const silu = (x: Tensor): Tensor => apply(new FusedGradUnary('silu'), x);
export const relu = (x: Tensor): Tensor => apply(new FusedGradUnary('relu'), x);
export const abs = (x: Tensor): Tensor => apply(new FusedGradUnary('abs'), x);
export const square = (x: Tensor): Tensor => apply(new Square(), x);
export const reciprocal = (x: Tensor): Tensor => apply(new Reciprocal(), x);

// ---- binary (broadcasting; gradients come back in the output's shape) ----

abstract class Binary extends Fn {
  protected a!: RawTensor;
  protected b!: RawTensor;
  protected out!: RawTensor;
  constructor(private readonly op: BinaryOp) {
    super();
  }
  forward(a: RawTensor, b: RawTensor): RawTensor {
    this.a = a;
    this.b = b;
    this.out = a.binary(this.op, b);
    return this.out;
  }
}

class Add extends Binary {
  constructor() { super('add'); }
  backward(g: RawTensor) { return [g, g]; }
}
class Sub extends Binary {
  constructor() { super('sub'); }
  backward(g: RawTensor) { return [g, this.needsInputGrad[1] ? g.neg() : null]; }
}
class Mul extends Binary {
  constructor() { super('mul'); }
  backward(g: RawTensor) {
    return [this.needsInputGrad[0] ? g.mul(this.b) : null, this.needsInputGrad[1] ? g.mul(this.a) : null];
  }
}
class Div extends Binary {
  constructor() { super('div'); }
  backward(g: RawTensor) {
    return [
      this.needsInputGrad[0] ? g.div(this.b) : null,
      this.needsInputGrad[1] ? g.mul(this.out).div(this.b).neg() : null,
    ];
  }
}
// d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (only computed when b needs a gradient, since ln a < 0 is NaN)
class Pow extends Binary {
  constructor() { super('pow'); }
  backward(g: RawTensor) {
    return [
      this.needsInputGrad[0] ? g.mul(this.b).mul(this.a.binary('pow', this.b.addScalar(-1))) : null,
      this.needsInputGrad[1] ? g.mul(this.out).mul(this.a.unary('log')) : null,
    ];
  }
}
// As PyTorch: at ties each side gets half the gradient.
function extremumGrads(g: RawTensor, a: RawTensor, b: RawTensor, wins: 'gt' | 'lt', needs: boolean[]) {
  const tie = a.binary('eq', b).mulScalar(0.5);
  return [
    needs[0] ? g.mul(a.binary(wins, b).add(tie)) : null,
    needs[1] ? g.mul(b.binary(wins, a).add(tie)) : null,
  ];
}
class Maximum extends Binary {
  constructor() { super('maximum'); }
  backward(g: RawTensor) { return extremumGrads(g, this.a, this.b, 'gt', this.needsInputGrad); }
}
class Minimum extends Binary {
  constructor() { super('minimum'); }
  backward(g: RawTensor) { return extremumGrads(g, this.a, this.b, 'lt', this.needsInputGrad); }
}

export const add = (a: TensorLike, b: TensorLike): Tensor => apply(new Add(), ...pair(a, b, 'add'));
export const sub = (a: TensorLike, b: TensorLike): Tensor => apply(new Sub(), ...pair(a, b, 'sub'));
export const mul = (a: TensorLike, b: TensorLike): Tensor => apply(new Mul(), ...pair(a, b, 'mul'));
export const div = (a: TensorLike, b: TensorLike): Tensor => apply(new Div(), ...pair(a, b, 'div'));
export const pow = (a: TensorLike, b: TensorLike): Tensor => apply(new Pow(), ...pair(a, b, 'pow'));
export const maximum = (a: TensorLike, b: TensorLike): Tensor => apply(new Maximum(), ...pair(a, b, 'maximum'));
export const minimum = (a: TensorLike, b: TensorLike): Tensor => apply(new Minimum(), ...pair(a, b, 'minimum'));

// ---- comparisons (1 where true, 0 where false; no gradient) ----

function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = pair(a, b, op);
  return ta.wrap(ta.raw.binary(op, tb.raw));
}
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);

// ---- where, clamp ----

class Where extends Fn {
  private cond!: RawTensor;
  forward(cond: RawTensor, a: RawTensor, b: RawTensor): RawTensor {
    this.cond = cond;
    return RawTensor.where(cond, a, b);
  }
  backward(g: RawTensor) {
    const zero = g.scalar(0);
    return [
      null,
      this.needsInputGrad[1] ? RawTensor.where(this.cond, g, zero) : null,
      this.needsInputGrad[2] ? RawTensor.where(this.cond, zero, g) : null,
    ];
  }
}

/** Elementwise cond != 0 ? a : b, broadcasting all three. The condition gets no gradient. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = pair(a, b, 'where');
  return apply(new Where(), cond.detach(), ta, tb);
}

// As PyTorch: the gradient passes where min <= x <= max.
class Clamp extends Fn {
  private x!: RawTensor;
  constructor(private readonly min: number, private readonly max: number) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.x = x;
    return x.binary('maximum', x.scalar(this.min)).binary('minimum', x.scalar(this.max));
  }
  backward(g: RawTensor) {
    const inside = this.x.binary('ge', this.x.scalar(this.min)).mul(this.x.binary('le', this.x.scalar(this.max)));
    return [g.mul(inside)];
  }
}

export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (Number.isNaN(min) || Number.isNaN(max) || min > max) {
    throw new Error(`clamp: needs min <= max, got min=${min}, max=${max}.`);
  }
  return apply(new Clamp(min, max), x);
}

// ---- dtype ----

class Cast extends Fn {
  private from!: RawTensor['dtype'];
  constructor(private readonly to: RawTensor['dtype']) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.from = x.dtype;
    return x.cast(this.to);
  }
  backward(g: RawTensor) { return [g.cast(this.from)]; }
}

export function cast(x: Tensor, dtype: RawTensor['dtype']): Tensor {
  return x.dtype === dtype ? x : apply(new Cast(dtype), x);
}
