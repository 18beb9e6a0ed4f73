import { describe, expect, it } from 'vitest';
import { arange, full, Generator, manualSeed, ones, rand, randn, tensor, zeros } from '../src/index';

describe('tensor creation', () => {
  it('infers shapes from nested arrays and keeps row-major order', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor(7).shape).toEqual([]);
    expect(tensor(7).item()).toBe(7);
  });
  it('zeros, ones, full, arange and float64', () => {
    expect(Array.from(zeros([2, 2]).toArray())).toEqual([0, 0, 0, 0]);
    expect(Array.from(ones([3], { dtype: 'float64' }).toArray())).toEqual([1, 1, 1]);
    expect(ones([3], { dtype: 'float64' }).toArray()).toBeInstanceOf(Float64Array);
    expect(Array.from(full([2], 2.5).toArray())).toEqual([2.5, 2.5]);
    expect(Array.from(arange(5).toArray())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(arange(1, 2, 0.25).toArray())).toEqual([1, 1.25, 1.5, 1.75]);
  });
  it('item() refuses tensors with more than one element', () => {
    expect(() => ones([2]).item()).toThrow(/item: tensor of shape \[2\] has 2 elements/);
  });
});

describe('broadcasting (NumPy rules)', () => {
  it('adds a row and a column', () => {
    const y = tensor([[1], [2]]).add(tensor([10, 20, 30]));
    expect(y.shape).toEqual([2, 3]);
    expect(y.toNested()).toEqual([[11, 21, 31], [12, 22, 32]]);
  });
  it('broadcasts a scalar and leading dimensions', () => {
    expect(tensor([[1, 2]]).mul(3).toNested()).toEqual([[3, 6]]);
    expect(ones([2, 1, 3]).sub(arange(3)).shape).toEqual([2, 1, 3]);
    expect(ones([4, 1]).add(ones([2, 1, 5])).shape).toEqual([2, 4, 5]);
  });
  it('where broadcasts condition and both branches', () => {
    const x = tensor([[-1, 2], [3, -4]]);
    expect(x.gt(0).toNested()).toEqual([[0, 1], [1, 0]]);
    expect(x.clamp(-2, 2.5).toNested()).toEqual([[-1, 2], [2.5, -2]]);
  });
});

describe('reductions and movement values', () => {
  const x = tensor([[1, 5, 3], [4, 2, 6]]);
  it('sum, mean, max, min, var over axes', () => {
    expect(x.sum().item()).toBe(21);
    expect(x.sum(0).toNested()).toEqual([5, 7, 9]);
    expect(x.sum(1, true).toNested()).toEqual([[9], [12]]);
    expect(x.mean(-1).toNested()).toEqual([3, 4]);
    expect(x.max(1).toNested()).toEqual([5, 6]);
    expect(x.min(0).toNested()).toEqual([1, 2, 3]);
    expect(x.var(1).toNested()).toEqual([4, 4]);
    expect(x.var(1, false, 0).toArray()[0]).toBeCloseTo(8 / 3, 6);
  });
  it('permute, slice, pad, concat, expand', () => {
    expect(x.transpose().toNested()).toEqual([[1, 4], [5, 2], [3, 6]]);
    expect(x.slice([0, 1], [2, 3]).toNested()).toEqual([[5, 3], [2, 6]]);
    expect(x.slice([-1]).toNested()).toEqual([[4, 2, 6]]);
    expect(tensor([[1]]).pad([[1, 0], [0, 2]], 9).toNested()).toEqual([[9, 9, 9], [1, 9, 9]]);
    expect(tensor([1, 2]).expand([2, 2]).toNested()).toEqual([[1, 2], [1, 2]]);
    expect(x.slice([0, 0], [1, 3]).reshape([3]).unsqueeze(0).shape).toEqual([1, 3]);
    expect(tensor([[1, 2]]).matmul(tensor([[3], [4]])).item()).toBe(11);
  });
});

describe('seeded random generator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = randn([100], { generator: new Generator(42) }).toArray();
    const b = randn([100], { generator: new Generator(42) }).toArray();
    const c = randn([100], { generator: new Generator(43) }).toArray();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    manualSeed(5);
    const d = rand([10]).toArray();
    manualSeed(5);
    expect(Array.from(rand([10]).toArray())).toEqual(Array.from(d));
  });
  it('draws standard normals and uniforms with the right moments', () => {
    const n = 200_000;
    const x = Array.from(randn([n], { generator: new Generator(7), dtype: 'float64' }).toArray());
    const mean = x.reduce((s, v) => s + v, 0) / n;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    // Standard errors: 1/sqrt(n) ~ 0.0022 for the mean, sqrt(2/n) ~ 0.0032 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    const u = Array.from(rand([n], { generator: new Generator(8) }).toArray());
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / n - 0.5)).toBeLessThan(0.005);
  });
  it('fillNormal (randn\'s path) gives the same stream as normal() called one by one, odd lengths and the spare included', () => {
    const one = new Generator(11), bulk = new Generator(11);
    for (const n of [0, 1, 5, 2, 7, 1000]) {
      const expected = Array.from({ length: n }, () => one.normal());
      const got = new Float64Array(n);
      bulk.fillNormal(got);
      expect(Array.from(got)).toEqual(expected);
    }
    expect(bulk.getState()).toEqual(one.getState());
  });
  it('fillKeepMask (dropout\'s path) decides as uniform() < p called one by one, and leaves the same state', () => {
    const one = new Generator(12), bulk = new Generator(12);
    one.normal();
    bulk.normal(); // a spare normal waiting: uniform() leaves it, so must the mask
    for (const [n, p] of [[0, 0.5], [1, 0.1], [7, 0.3], [1000, 0.1], [33, 0.9]] as const) {
      const expected = Array.from({ length: n }, () => (one.uniform() < p ? 0 : Math.fround(1 / (1 - p))));
      const got = new Float32Array(n);
      bulk.fillKeepMask(got, p, 1 / (1 - p));
      expect(Array.from(got)).toEqual(expected);
    }
    expect(bulk.getState()).toEqual(one.getState());
  });
  it('saves and restores its state to continue the same stream', () => {
    const g = new Generator(9);
    g.normal();
    const state = g.getState();
    const next = [g.normal(), g.normal(), g.uniform()];
    const h = new Generator(0);
    h.setState(state);
    expect([h.normal(), h.normal(), h.uniform()]).toEqual(next);
  });
});
