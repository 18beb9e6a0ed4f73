import { describe, expect, it } from 'vitest';
import { concat, conv2d, groupNorm, linear, matmul, ones, randn, reshape, slice, tensor, zeros } from '../src/index';

// Wrong shapes throw errors that name the op and both shapes, before any kernel runs.

describe('shape errors name the op and the shapes', () => {
  it('matmul of [2,3] by [4,5]', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\] are incompatible: inner dimensions 3 and 4 differ/);
  });
  it('matmul with batch dimensions that do not broadcast', () => {
    expect(() => matmul(zeros([2, 1, 3]), zeros([3, 3, 1]))).toThrow(/matmul: shapes \[2, 1, 3\] and \[3, 3, 1\].*batch dimensions \[2\] and \[3\]/);
  });
  it('conv2d with mismatched channels', () => {
    expect(() => conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3]))).toThrow(
      /conv2d: input has 3 channels but the weight expects 2 \(input \[1, 3, 8, 8\], weight \[4, 2, 3, 3\]\)/,
    );
  });
  it('conv2d with a kernel larger than the input', () => {
    expect(() => conv2d(zeros([1, 1, 2, 2]), zeros([1, 1, 3, 3]))).toThrow(/conv2d: kernel 3x3 is larger than the padded input 2x2/);
  });
  it('broadcasting [3] with [4]', () => {
    expect(() => ones([3]).add(ones([4]))).toThrow(/add: cannot broadcast shapes \[3\] and \[4\]/);
    expect(() => ones([3]).mul(ones([4]))).toThrow(/mul: cannot broadcast shapes \[3\] and \[4\]/);
  });
  it('group_norm with channels not divisible by groups', () => {
    expect(() => groupNorm(zeros([1, 6, 2, 2]), 4)).toThrow(/group_norm: 6 channels .* cannot be split into 4 groups/);
  });
  it('linear with the wrong feature count', () => {
    expect(() => linear(zeros([2, 5]), zeros([3, 4]))).toThrow(/linear: input \[2, 5\] does not end in 4 features as weight \[3, 4\] expects/);
  });
  it('reshape to a different element count', () => {
    expect(() => reshape(zeros([2, 3]), [4, 2])).toThrow(/reshape: cannot view shape \[2, 3\] \(6 elements\) as \[4, 2\]/);
  });
  it('slice out of range and concat with mismatched shapes', () => {
    expect(() => slice(zeros([2, 3]), [0, 1], [2, 5])).toThrow(/slice: range \[1, 5\) is outside dimension 1 \(size 3\)/);
    expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(/concat: shapes \[2, 3\], \[2, 4\] differ outside axis 0/);
  });
  it('mixing float32 and float64', () => {
    expect(() => ones([2]).add(ones([2], { dtype: 'float64' }))).toThrow(/add: dtypes float32 and float64 differ/);
  });
  it('ragged nested arrays and wrong value counts', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/3 values cannot fill shape \[2, 2\]/);
  });
  it('backward from a non-scalar without a gradient', () => {
    const x = randn([3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/backward: tensor of shape \[3\] is not a scalar/);
  });
  it('an axis out of range', () => {
    expect(() => zeros([2, 3]).sum(2)).toThrow(/sum: axis 2 is out of range for a tensor with 2 dimensions/);
  });
});
