import { tensor } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';
import { ConfigError } from '../errors';

/**
 * Images per network evaluation when sampling or editing: 256 images of 1x32x32, proportionally
 * fewer for larger images, so a batch's activations stay around half a gigabyte on a laptop.
 */
export function defaultSampleBatch(shape: readonly [number, number, number]): number {
  const [c, h, w] = shape;
  return Math.max(1, Math.min(256, Math.floor((256 * 32 * 32) / (c * h * w))));
}

/** Labels first .. first + count - 1 of per-image labels (undefined stays undefined); checks their count. */
export function labelRows(labels: ArrayLike<number> | undefined, total: number, first: number, count: number): number[] | undefined {
  if (labels === undefined) return undefined;
  if (labels.length !== total) throw new ConfigError('labels', `labels: ${labels.length} labels for ${total} images; give one per image.`);
  return Array.from({ length: count }, (_, i) => labels[first + i]!);
}

/**
 * Runs `part(first, count)` for consecutive chunks of at most `batch` images and stacks the results
 * along the first axis on the host (each chunk's buffers are freed before the next starts).
 */
export function inChunks(count: number, batch: number, part: (first: number, count: number) => Tensor): Tensor {
  if (!(Number.isInteger(batch) && batch >= 1)) throw new ConfigError('batch', `batch must be an integer >= 1, got ${batch}.`);
  if (count <= batch) return part(0, count);
  let out: Float32Array | Float64Array | null = null;
  let shape: number[] = [];
  for (let first = 0; first < count; first += batch) {
    const chunk = part(first, Math.min(batch, count - first));
    if (!out) {
      shape = [count, ...chunk.shape.slice(1)];
      const per = chunk.size / chunk.shape[0]!;
      out = chunk.dtype === 'float64' ? new Float64Array(count * per) : new Float32Array(count * per);
    }
    out.set(chunk.toArray(), first * (out.length / count));
    chunk.dispose();
  }
  return tensor(out!, { shape, dtype: out instanceof Float64Array ? 'float64' : 'float32' });
}
