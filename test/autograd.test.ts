import { describe, expect, it } from 'vitest';
import { isGradEnabled, noGrad, ones, tensor } from '../src/index';

describe('autograd tape', () => {
  it('accumulates through a shared subexpression: d(x*x + x)/dx = 2x + 1', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    x.mul(x).add(x).sum().backward();
    expect(Array.from(x.grad!.toArray())).toEqual([3, -3, 7]);
  });
  it('adds into .grad across backward calls until zeroGrad', () => {
    const x = tensor([2], { requiresGrad: true });
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.item()).toBe(6);
    x.zeroGrad();
    expect(x.grad).toBeNull();
  });
  it('sums the gradient of a broadcast input back to its shape', () => {
    const a = ones([2, 3], { requiresGrad: true });
    const b = tensor([1, 2, 3], { requiresGrad: true });
    const c = tensor([[10], [20]], { requiresGrad: true });
    a.mul(b).add(c).sum().backward();
    expect(b.grad!.toNested()).toEqual([2, 2, 2]);
    expect(c.grad!.toNested()).toEqual([[3], [3]]);
    expect(a.grad!.toNested()).toEqual([[1, 2, 3], [1, 2, 3]]);
  });
  it('records nothing under noGrad, and detach cuts the tape', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2);
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    const z = x.mul(x.detach()).sum();
    z.backward();
    expect(Array.from(x.grad!.toArray())).toEqual([1, 2]);
  });
  it('gives no gradient to inputs that do not require it', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const x = tensor([3, 4]);
    w.mul(x).sum().backward();
    expect(x.grad).toBeNull();
    expect(Array.from(w.grad!.toArray())).toEqual([3, 4]);
  });
  it('passes the gradient through a dtype cast back in the input dtype', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    x.cast('float32').mul(3).sum().backward();
    expect(x.grad!.dtype).toBe('float64');
    expect(Array.from(x.grad!.toArray())).toEqual([3, 3]);
  });
  it('walks a long chain without recursion limits', () => {
    const x = tensor([1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 20_000; i++) y = y.add(1);
    y.sum().backward();
    expect(x.grad!.item()).toBe(1);
  });
  it('refuses to change requiresGrad of a non-leaf', () => {
    const x = tensor([1], { requiresGrad: true });
    expect(() => x.mul(2).setRequiresGrad(false)).toThrow(/only leaf tensors.*Mul/);
  });
});
