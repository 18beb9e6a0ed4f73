import type { StridedView } from '../../src/backend/backend';
import type { CommandQueue } from './command-queue';
import type { GpujsBuffer } from './device-buffers';

/** Tensors up to this size whose values the host knows are computed on the host. */
const HOST_ELEMENTS = 4096;

/**
 * The values of small buffers that the host knows (uploaded, filled with a number, or computed
 * here from other such values), by buffer id. Such a buffer is uploaded when a device kernel
 * first needs it.
 */
export class HostMirror {
  private readonly values = new Map<number, Float32Array>();
  /** Ids whose value is also on the device. */
  private readonly uploaded = new Set<number>();

  constructor(private readonly queue: CommandQueue) {}

  /** The host value of a buffer, or undefined when only the device has it. */
  get(b: GpujsBuffer): Float32Array | undefined {
    return this.values.get(b.id);
  }

  /** A view of a buffer held here, on its host value. */
  view(v: StridedView<GpujsBuffer>): StridedView<Float32Array> {
    return { buffer: this.values.get(v.buffer.id)!, offset: v.offset, strides: v.strides };
  }

  /** Whether `values` is small enough to be held here. */
  fits(values: Float32Array): boolean {
    return values.length <= HOST_ELEMENTS;
  }

  /** Holds `values` as the value of a new buffer. */
  hold(b: GpujsBuffer, values: Float32Array): void {
    this.values.set(b.id, values);
  }

  /** Computes a new value for `out` here, when it is small enough; false leaves it to the device. */
  compute(out: GpujsBuffer, compute: (o: Float32Array) => void): boolean {
    if (out.size > HOST_ELEMENTS) return false;
    const value = new Float32Array(out.size);
    compute(value);
    this.forget(out.id);
    this.values.set(out.id, value);
    return true;
  }

  /** Queues the upload of a held value the device does not have yet. */
  upload(id: number): void {
    const value = this.values.get(id);
    if (value === undefined || this.uploaded.has(id)) return;
    this.uploaded.add(id);
    const data = value.slice();
    this.queue.push({ t: 'upload', id, data }, data.buffer);
  }

  /** Drops the value of a buffer the device writes or that is freed. */
  forget(id: number): void {
    this.values.delete(id);
    this.uploaded.delete(id);
  }
}
