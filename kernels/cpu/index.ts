import type { Backend, DType, TypedArray } from '../../src/backend/backend';
import { conv2d, conv2dGradInput, conv2dGradWeight } from './conv';
import { copy } from './copy';
import { binary, cast, fill, unary, where } from './elementwise';
import { matmul } from './matmul';
import { groupNorm, groupNormBackward } from './norm';
import { reduce } from './reduce';
import { upsampleNearest2x, upsampleNearest2xBackward } from './resample';

/** The reference backend: plain loops over Float32Array / Float64Array. */
export const cpuBackend = {
  name: 'cpu',
  supportsDType: () => true,
  alloc: (size: number, dtype: DType): TypedArray => (dtype === 'float32' ? new Float32Array(size) : new Float64Array(size)),
  fromArray: (data: ArrayLike<number>, dtype: DType): TypedArray =>
    dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data),
  read: (buffer: TypedArray): TypedArray => buffer.slice(),
  size: (buffer: TypedArray): number => buffer.length,
  dtype: (buffer: TypedArray): DType => (buffer instanceof Float32Array ? 'float32' : 'float64'),
  dispose: () => {},
  fill,
  cast,
  unary,
  binary,
  where,
  reduce,
  copy,
  matmul,
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  groupNorm,
  groupNormBackward,
  upsampleNearest2x,
  upsampleNearest2xBackward,
} satisfies Backend<TypedArray>;
