import { describe, expect, it } from 'vitest';
import { arange, conv2d, groupNorm, interpolate, logSoftmax, ones, softmax, tensor } from '../src/index';

// Small cases worked out by hand; float32 results compared to ~1e-6 relative.

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-6) => {
  expect(actual.length).toBe(expected.length);
  Array.from(actual).forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!))));
};

describe('conv2d golden values', () => {
  const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
  const w = tensor([[[[1, 2], [3, 4]]]]);

  it('valid 2x2 window: out[i,j] = x[i,j] + 2x[i,j+1] + 3x[i+1,j] + 4x[i+1,j+1], plus bias', () => {
    const y = conv2d(x, w, tensor([1]));
    expect(y.shape).toEqual([1, 1, 2, 2]);
    close(y.toArray(), [38, 48, 68, 78]);
  });

  it('padding 1, stride 2 reads zeros outside the image', () => {
    // out(0,0) = x00*4; out(0,1) = x01*3 + x02*4; out(1,0) = x10*2 + x20*4; out(1,1) = 5 + 12 + 24 + 36
    close(conv2d(x, w, undefined, { padding: 1, stride: 2 }).toArray(), [4, 18, 36, 77]);
  });

  it('sums over input channels and writes each output channel', () => {
    const x2 = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]]]]);
    const w2 = tensor([[[[1, 2], [3, 4]], [[1, 1], [1, 1]]], [[[0, 0], [0, 0]], [[-1, 0], [0, 0]]]]);
    const y = conv2d(x2, w2);
    expect(y.shape).toEqual([1, 2, 2, 2]);
    close(y.toArray(), [41, 51, 71, 81, -1, -1, -1, -1]);
  });
});

describe('group_norm golden values', () => {
  const x = tensor([[[1, 2], [3, 4]]]); // N=1, C=2, L=2
  it('one group: mean 2.5, biased variance 1.25, per-channel affine', () => {
    const r = 1 / Math.sqrt(1.25 + 1e-5);
    const y = groupNorm(x, 1, tensor([1, 2]), tensor([0, 1]));
    close(y.toArray(), [-1.5 * r, -0.5 * r, 2 * 0.5 * r + 1, 2 * 1.5 * r + 1]);
  });
  it('two groups: each channel normalised on its own', () => {
    const r = 1 / Math.sqrt(0.25 + 1e-5);
    close(groupNorm(x, 2).toArray(), [-0.5 * r, 0.5 * r, -0.5 * r, 0.5 * r]);
  });
});

describe('nearest interpolation golden values', () => {
  it('x2 repeats each pixel into a 2x2 block', () => {
    const y = interpolate(tensor([[[[1, 2], [3, 4]]]]), { scaleFactor: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    close(y.toArray(), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
  it('x0.5 keeps the pixels at even rows and columns (PyTorch: source index floor(2i))', () => {
    close(interpolate(arange(16).reshape([1, 1, 4, 4]), { scaleFactor: 0.5 }).toArray(), [0, 2, 8, 10]);
    const odd = interpolate(arange(25).reshape([1, 1, 5, 5]), { scaleFactor: 0.5 });
    expect(odd.shape).toEqual([1, 1, 2, 2]);
    close(odd.toArray(), [0, 2, 10, 12]);
  });
  it('x2 then x0.5 is the identity', () => {
    const x = arange(12).reshape([1, 3, 2, 2]);
    close(interpolate(interpolate(x, { scaleFactor: 2 }), { scaleFactor: 0.5 }).toArray(), Array.from(x.toArray()));
  });
});

describe('softmax golden values', () => {
  it('softmax([0, ln 2, ln 3]) = [1/6, 2/6, 3/6]', () => {
    close(softmax(tensor([0, Math.log(2), Math.log(3)])).toArray(), [1 / 6, 2 / 6, 3 / 6]);
  });
  it('log-softmax of the same is ln of those', () => {
    close(logSoftmax(tensor([0, Math.log(2), Math.log(3)])).toArray(), [Math.log(1 / 6), Math.log(1 / 3), Math.log(1 / 2)]);
  });
  it('large logits do not overflow', () => {
    close(softmax(tensor([[1000, 1000], [-1000, 0]]), 1).toArray(), [0.5, 0.5, 0, 1]);
    close(logSoftmax(ones([2]).mul(1e4)).toArray(), [-Math.LN2, -Math.LN2]);
  });
  it('softmax along axis 0 normalises columns', () => {
    close(softmax(tensor([[0, 0], [Math.log(3), 0]]), 0).toArray(), [0.25, 0.5, 0.75, 0.5]);
  });
});
