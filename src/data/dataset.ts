import { ConfigError } from '../errors';
import { Generator } from '../tensor/random';
import { tensor } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';

/** Images in [-1, 1], NCHW, float32, with optional class labels. */
export interface ImageDataset {
  name: string;
  images: Float32Array;
  labels: Uint8Array | null;
  /** With labels: the name of each class, by label. */
  classNames?: string[];
  count: number;
  channels: number;
  height: number;
  width: number;
}

/** The images at `indices` as one [B, C, H, W] tensor. */
export function gatherImages(ds: ImageDataset, indices: ArrayLike<number>): Tensor {
  const per = ds.channels * ds.height * ds.width;
  const out = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    out.set(ds.images.subarray(k * per, (k + 1) * per), i * per);
  }
  return tensor(out, { shape: [indices.length, ds.channels, ds.height, ds.width] });
}

export interface SamplerState {
  epoch: number;
  position: number;
}

/**
 * Shuffled mini-batches, epoch after epoch: epoch e's order is a Fisher-Yates shuffle drawn from a
 * generator seeded by (seed, e), so the state is just (epoch, position) and a resumed run sees the
 * same batches as an uninterrupted one. The last partial batch of an epoch is dropped.
 */
export class BatchSampler {
  private order: Uint32Array = new Uint32Array(0);
  private orderEpoch = -1;
  state: SamplerState = { epoch: 0, position: 0 };

  constructor(readonly count: number, readonly batchSize: number, readonly seed: number) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batch', `batch must be an integer >= 1, got ${batchSize}.`);
    if (batchSize > count) throw new ConfigError('batch', `batch ${batchSize} is larger than the dataset (${count} images); use a batch of at most ${count}.`);
  }

  private ensureOrder(): void {
    if (this.orderEpoch === this.state.epoch) return;
    const g = new Generator(this.seed * 1_000_003 + this.state.epoch);
    this.order = Uint32Array.from({ length: this.count }, (_, i) => i);
    for (let i = this.count - 1; i > 0; i--) {
      const j = g.int(i + 1);
      [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
    }
    this.orderEpoch = this.state.epoch;
  }

  next(): Uint32Array {
    if (this.state.position + this.batchSize > this.count) this.state = { epoch: this.state.epoch + 1, position: 0 };
    this.ensureOrder();
    const batch = this.order.slice(this.state.position, this.state.position + this.batchSize);
    this.state = { epoch: this.state.epoch, position: this.state.position + this.batchSize };
    return batch;
  }
}

/** `count` images (at most the dataset's) chosen without repetition by a seeded shuffle. */
export function pickImages(ds: ImageDataset, count: number, seed: number): Tensor {
  return gatherImages(ds, new BatchSampler(ds.count, Math.min(count, ds.count), seed).next());
}
