import type { TypedArray } from '../../src/backend/backend';

/**
 * Backend.memoryStats for the CPU backends: the buffers a backend handed out (alloc, fromArray,
 * cast, adamw) that are neither disposed nor reclaimed by the garbage collector yet. Each buffer is
 * registered with a FinalizationRegistry when handed out (about 0.2 us) and unregistered by
 * dispose, so a buffer disposed twice, or disposed after being handed out again by the pool,
 * counts once; one dropped without dispose leaves the count when the collector finalises it (and
 * adds to `collected`). Buffers the cpu backend's pool holds for reuse are not live.
 */
export class LiveBuffers {
  private count = 0;
  private bytes = 0;
  private reclaimed = 0;
  private readonly registry = new FinalizationRegistry<number>((byteLength) => {
    this.count--;
    this.bytes -= byteLength;
    this.reclaimed++;
  });

  /** Counts `buffer` as live (once, however often it is handed out); returns it. */
  handOut<T extends TypedArray>(buffer: T): T {
    if (!this.registry.unregister(buffer)) {
      this.count++;
      this.bytes += buffer.byteLength;
    }
    this.registry.register(buffer, buffer.byteLength, buffer);
    return buffer;
  }

  /** The buffer is no longer live; a buffer not handed out here, or already disposed, changes nothing. */
  dispose(buffer: TypedArray): void {
    if (this.registry.unregister(buffer)) {
      this.count--;
      this.bytes -= buffer.byteLength;
    }
  }

  stats(): { liveBuffers: number; liveBytes: number; collected: number } {
    return { liveBuffers: this.count, liveBytes: this.bytes, collected: this.reclaimed };
  }
}
