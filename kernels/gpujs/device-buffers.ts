import type { CommandQueue } from './command-queue';
import type { DeviceLink } from './device-link';
import type { HostMirror } from './host-mirror';

/** A buffer on the device worker, named by id; float32 only. */
export interface GpujsBuffer {
  readonly id: number;
  readonly size: number;
}

/** A buffer that is the range [offset, offset + size) of the device allocation `base`. */
interface View {
  base: number;
  offset: number;
  size: number;
}

/**
 * The ids of device buffers and their lifetimes: allocations, views (sections of one allocation,
 * AdamW's packed outputs), a launch's scratch buffers, and frees, by dispose() or, failing that,
 * when the garbage collector finds the buffer object unreachable.
 */
export class DeviceBuffers {
  private nextId = 1;
  private readonly views = new Map<number, View>();
  /** Views not yet freed, by allocation: the allocation is freed with its last view. */
  private readonly viewsAlive = new Map<number, number>();
  /** Buffers a launch or an upload has written on the device (others hold nothing that matters). */
  private readonly written = new Set<number>();
  /** Scratch allocations of the launches being queued, freed after them. */
  private readonly temps: number[] = [];
  private readonly collected = new FinalizationRegistry<number>((id) => {
    if (!this.link.dead()) this.free(id);
  });

  constructor(private readonly queue: CommandQueue, private readonly mirror: HostMirror, private readonly link: DeviceLink) {}

  /** A buffer with a fresh id, whose allocation the caller queues. */
  create(size: number): GpujsBuffer {
    const buffer = { id: this.nextId++, size };
    this.collected.register(buffer, buffer.id, buffer);
    return buffer;
  }

  allocate(size: number): GpujsBuffer {
    const b = this.create(size);
    this.queue.push({ t: 'alloc', id: b.id, size });
    return b;
  }

  /** An allocation known by its id alone: freed by the caller, never collected. */
  allocateId(size: number): number {
    const id = this.nextId++;
    this.queue.push({ t: 'alloc', id, size });
    return id;
  }

  /** A scratch allocation for the launches being planned; freeTemps() frees it after them. */
  temp(size: number): number {
    const id = this.allocateId(size);
    this.temps.push(id);
    return id;
  }

  freeTemps(): void {
    for (const id of this.temps.splice(0)) this.queue.push({ t: 'free', id });
  }

  /** `count` buffers of `size` elements, the sections of `base` that start every `section` elements; `base` is freed with the last. */
  sections(base: number, count: number, section: number, size: number): GpujsBuffer[] {
    this.viewsAlive.set(base, count);
    return Array.from({ length: count }, (_, k) => {
      const view = this.create(size);
      this.views.set(view.id, { base, offset: k * section, size });
      return view;
    });
  }

  /** The allocation and range of a view, or undefined for a whole buffer. */
  view(id: number): View | undefined {
    return this.views.get(id);
  }

  isView(id: number): boolean {
    return this.views.has(id);
  }

  markWritten(id: number): void {
    this.written.add(id);
  }

  wasWritten(id: number): boolean {
    return this.written.has(id);
  }

  dispose(buffer: GpujsBuffer): void {
    this.collected.unregister(buffer);
    this.free(buffer.id);
  }

  private free(id: number): void {
    this.mirror.forget(id);
    this.written.delete(id);
    const view = this.views.get(id);
    if (!view) {
      this.queue.push({ t: 'free', id });
      return;
    }
    this.views.delete(id);
    const left = this.viewsAlive.get(view.base)! - 1;
    if (left > 0) this.viewsAlive.set(view.base, left);
    else {
      this.viewsAlive.delete(view.base);
      this.queue.push({ t: 'free', id: view.base });
    }
  }
}
