import type { DType } from '../backend/backend';
import { RawTensor } from './raw';
import { getDefaultGenerator, type Generator } from './random';
import { checkShape, formatShape, shapeSize } from './shape';
import { Tensor } from './tensor';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

type Nested = number | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as Nested;
  }
  return shape;
}

function flatten(data: Nested, shape: readonly number[], dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (typeof data !== 'number') throw new Error('tensor: nested arrays are ragged (rows of different lengths or depths).');
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new Error(`tensor: nested arrays are ragged: expected ${shape[dim]} entries at depth ${dim} for shape ${formatShape(shape)}.`);
  }
  for (const d of data as readonly Nested[]) flatten(d, shape, dim + 1, out);
}

function make(raw: RawTensor, opts: CreateOptions): Tensor {
  return new Tensor(raw, opts.requiresGrad ?? false);
}

/**
 * A tensor from a number, nested arrays, or flat values with an explicit shape:
 * tensor([[1, 2], [3, 4]]), tensor(new Float32Array(6), { shape: [2, 3] }).
 */
export function tensor(
  data: Nested | ArrayLike<number>,
  opts: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  const dtype = opts.dtype ?? 'float32';
  if (opts.shape) {
    const flat = typeof data === 'number' ? [data] : Array.isArray(data) && data.some(Array.isArray) ? null : (data as ArrayLike<number>);
    if (!flat) throw new Error('tensor: pass flat values when giving a shape.');
    return make(RawTensor.fromArray(flat, opts.shape, dtype), opts);
  }
  if (typeof data === 'number') return make(RawTensor.fromArray([data], [], dtype), opts);
  if (!Array.isArray(data)) return make(RawTensor.fromArray(data as ArrayLike<number>, [(data as ArrayLike<number>).length], dtype), opts);
  const shape = inferShape(data as Nested);
  const flat: number[] = [];
  flatten(data as Nested, shape, 0, flat);
  return make(RawTensor.fromArray(flat, shape, dtype), opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  return make(RawTensor.full(shape, value, opts.dtype ?? 'float32'), opts);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...opts });
}

export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...opts });
}

/** Values start, start + step, ... below end (as NumPy / PyTorch arange). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${step}.`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  return make(RawTensor.fromArray(Array.from({ length: n }, (_, i) => start + i * step), [n], opts.dtype ?? 'float32'), opts);
}

function random(shape: readonly number[], opts: RandomOptions, draw: (g: Generator) => number, op: string): Tensor {
  checkShape(op, shape);
  const g = opts.generator ?? getDefaultGenerator();
  const n = shapeSize(shape);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = draw(g);
  return make(RawTensor.fromArray(values, shape, opts.dtype ?? 'float32'), opts);
}

/** Standard normal values from the given generator (or the default one, see manualSeed). */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  checkShape('randn', shape);
  const dtype = opts.dtype ?? 'float32';
  const values = dtype === 'float32' ? new Float32Array(shapeSize(shape)) : new Float64Array(shapeSize(shape));
  (opts.generator ?? getDefaultGenerator()).fillNormal(values);
  return make(RawTensor.fromArray(values, shape, dtype), opts);
}

/** Uniform values in [0, 1). */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return random(shape, opts, (g) => g.uniform(), 'rand');
}
