import { apply, Fn } from '../autograd/fn';
import { RawTensor } from '../tensor/raw';
import { checkShape, formatShape, normalizeAxis, shapeSize } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

// ---- reshape (a view) ----

class Reshape extends Fn {
  private inShape!: readonly number[];
  constructor(private readonly shape: readonly number[]) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.inShape = x.shape;
    return x.reshape(this.shape);
  }
  backward(g: RawTensor) { return [g.reshape(this.inShape)]; }
}

/** A view with a new shape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const unknown = shape.filter((s) => s === -1).length;
  if (unknown > 1) throw new Error(`reshape: at most one dimension may be -1, got ${formatShape(shape)}.`);
  let resolved = [...shape];
  if (unknown === 1) {
    const known = shapeSize(shape.filter((s) => s !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new Error(`reshape: cannot view shape ${formatShape(x.shape)} (${x.size} elements) as ${formatShape(shape)}.`);
    }
    resolved = shape.map((s) => (s === -1 ? x.size / known : s));
  }
  checkShape('reshape', resolved);
  if (shapeSize(resolved) !== x.size) {
    throw new Error(`reshape: cannot view shape ${formatShape(x.shape)} (${x.size} elements) as ${formatShape(shape)} (${shapeSize(resolved)} elements).`);
  }
  return apply(new Reshape(resolved), x);
}

export function flatten(x: Tensor, startAxis = 0): Tensor {
  const start = normalizeAxis('flatten', startAxis, Math.max(x.ndim, 1));
  return reshape(x, [...x.shape.slice(0, start), -1]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const a = normalizeAxis('squeeze', axis, x.ndim);
  if (x.shape[a] !== 1) throw new Error(`squeeze: dimension ${axis} of shape ${formatShape(x.shape)} has size ${x.shape[a]}, not 1.`);
  return reshape(x, x.shape.filter((_, d) => d !== a));
}

// ---- permute (a copy) ----

class Permute extends Fn {
  constructor(private readonly order: readonly number[]) {
    super();
  }
  forward(x: RawTensor): RawTensor { return x.permute(this.order); }
  backward(g: RawTensor) {
    const inverse = new Array<number>(this.order.length);
    this.order.forEach((d, i) => (inverse[d] = i));
    return [g.permute(inverse)];
  }
}

export function permute(x: Tensor, order: readonly number[]): Tensor {
  const norm = order.map((d) => normalizeAxis('permute', d, x.ndim));
  if (norm.length !== x.ndim || new Set(norm).size !== norm.length) {
    throw new Error(`permute: order ${formatShape(order)} must list each of the ${x.ndim} dimensions of shape ${formatShape(x.shape)} once.`);
  }
  return apply(new Permute(norm), x);
}

export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const order = Array.from({ length: x.ndim }, (_, i) => i);
  const a = normalizeAxis('transpose', axis0, x.ndim), b = normalizeAxis('transpose', axis1, x.ndim);
  [order[a], order[b]] = [order[b]!, order[a]!];
  return permute(x, order);
}

// ---- expand (a copy; its adjoint sums) ----

class Expand extends Fn {
  private inShape!: readonly number[];
  constructor(private readonly shape: readonly number[]) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.inShape = x.shape;
    return x.expand(this.shape);
  }
  backward(g: RawTensor) { return [g.sumTo(this.inShape)]; }
}

/** Broadcasts to `shape` (size-1 dimensions repeat; -1 keeps a size; new leading dimensions allowed). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim;
  const fail = (): never => {
    throw new Error(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)}: each dimension must match or be 1.`);
  };
  if (lead < 0) fail();
  const resolved = shape.map((s, d) => {
    const own = d < lead ? 1 : x.shape[d - lead]!;
    const target = s === -1 && d >= lead ? own : s;
    if (own !== 1 && own !== target) fail();
    return target;
  });
  checkShape('expand', resolved);
  return apply(new Expand(resolved), x);
}

// ---- slice / pad (each the other's adjoint) ----

class Slice extends Fn {
  private inShape!: readonly number[];
  constructor(private readonly starts: readonly number[], private readonly ends: readonly number[]) {
    super();
  }
  forward(x: RawTensor): RawTensor {
    this.inShape = x.shape;
    return x.slice(this.starts, this.ends);
  }
  backward(g: RawTensor) {
    return [g.pad(this.starts, this.ends.map((e, d) => this.inShape[d]! - e))];
  }
}

/**
 * The half-open ranges [starts[d], ends[d]) of the leading dimensions (the rest kept whole);
 * negative indices count from the end, and ends may be omitted for "to the end".
 */
export function slice(x: Tensor, starts: readonly number[], ends: readonly (number | undefined)[] = []): Tensor {
  if (starts.length > x.ndim || ends.length > x.ndim) {
    throw new Error(`slice: ${Math.max(starts.length, ends.length)} ranges given for shape ${formatShape(x.shape)}.`);
  }
  const s: number[] = [], e: number[] = [];
  x.shape.forEach((size, d) => {
    const norm = (i: number) => (i < 0 ? i + size : i);
    const a = norm(starts[d] ?? 0);
    const b = norm(ends[d] ?? size);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > size || a > b) {
      throw new Error(`slice: range [${starts[d] ?? 0}, ${ends[d] ?? size}) is outside dimension ${d} (size ${size}) of shape ${formatShape(x.shape)}.`);
    }
    s.push(a);
    e.push(b);
  });
  return apply(new Slice(s, e), x);
}

class Pad extends Fn {
  constructor(
    private readonly before: readonly number[],
    private readonly after: readonly number[],
    private readonly value: number,
  ) {
    super();
  }
  forward(x: RawTensor): RawTensor { return x.pad(this.before, this.after, this.value); }
  backward(g: RawTensor) {
    return [g.slice(this.before, g.shape.map((s, d) => s - this.after[d]!))];
  }
}

/**
 * Pads the last padding.length dimensions: padding[i] = [before, after] for dimension
 * ndim - padding.length + i. Values are `value` (default 0).
 */
export function pad(x: Tensor, padding: readonly (readonly [number, number])[], value = 0): Tensor {
  if (padding.length > x.ndim) {
    throw new Error(`pad: ${padding.length} (before, after) pairs given for shape ${formatShape(x.shape)}.`);
  }
  const lead = x.ndim - padding.length;
  const before = x.shape.map((_, d) => (d < lead ? 0 : padding[d - lead]![0]));
  const after = x.shape.map((_, d) => (d < lead ? 0 : padding[d - lead]![1]));
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`pad: padding amounts must be non-negative integers, got ${JSON.stringify(padding)}.`);
  }
  return apply(new Pad(before, after, value), x);
}

// ---- concat ----

class Concat extends Fn {
  private sizes: number[] = [];
  constructor(private readonly axis: number) {
    super();
  }
  forward(...parts: RawTensor[]): RawTensor {
    this.sizes = parts.map((p) => p.shape[this.axis]!);
    return RawTensor.concat(parts, this.axis);
  }
  backward(g: RawTensor) {
    let start = 0;
    return this.sizes.map((size, i) => {
      const s = start;
      start += size;
      if (!this.needsInputGrad[i]) return null;
      const starts = g.shape.map((_, d) => (d === this.axis ? s : 0));
      const ends = g.shape.map((n, d) => (d === this.axis ? s + size : n));
      return g.slice(starts, ends);
    });
  }
}

export function concat(parts: readonly Tensor[], axis = 0): Tensor {
  if (parts.length === 0) throw new Error('concat: needs at least one tensor.');
  const first = parts[0]!;
  const a = normalizeAxis('concat', axis, first.ndim);
  for (const p of parts) {
    if (p.ndim !== first.ndim || p.shape.some((s, d) => d !== a && s !== first.shape[d])) {
      throw new Error(
        `concat: shapes ${parts.map((t) => formatShape(t.shape)).join(', ')} differ outside axis ${axis}; all dimensions but the concatenated one must match.`,
      );
    }
  }
  return apply(new Concat(a), ...parts);
}
