import gpujs from 'gpu.js';
import { type Launch, launchSize } from './launch';
import { type Executor, type GpujsKernelName, kernelKey, kernelSettings, kernelSource } from './sources';

// The webgpu executor: a batched device stream. gpu.js compiles every kernel (its WGSL, compute
// pipeline and bind-group layout, built once per kernelKey); this class does the encoding, as
// gpu.js's own fused pipeline executor does, instead of gpu.js's per-call path (which creates an
// output buffer, writes a uniform, makes a bind group and submits once per kernel). A flush from
// the main thread becomes one command encoder, one compute pass for all of its dispatches and one
// queue.submit. Around it:
// - device buffers come from a pool keyed by byte size; a buffer freed or replaced after a command
//   of the flush was encoded goes back to the pool only after that flush's submit, so no upload
//   (queue.writeBuffer, which runs before the flush's commands) can land in a buffer that a command
//   of the flush still uses;
// - every launch's uniforms (gpu.js's Params struct) are written into one arena, a slot of 256
//   bytes per launch, uploaded with one writeBuffer just before the submit (queue order keeps the
//   previous flush's reads of the arena before this write);
// - bind groups are cached by (kernel, arena slot, buffers): the launches of a training step are
//   the same from step to step and the pool hands out the same buffers, so steady state creates
//   none.
// Dawn orders the dispatches of one pass (a dispatch sees the writes of the ones before it).

const USAGE_MAP_READ = 0x0001, USAGE_COPY_SRC = 0x0004, USAGE_COPY_DST = 0x0008, USAGE_UNIFORM = 0x0040, USAGE_STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;
/** minUniformBufferOffsetAlignment is at most 256 on every adapter. */
const SLOT_BYTES = 256;
const ARENA_SLOTS = 4096;
const MAX_CACHED_BIND_GROUPS = 50_000;

/* eslint-disable @typescript-eslint/no-explicit-any -- WebGPU objects from Dawn, typed loosely here */
type GpuBuffer = { size: number; destroy(): void; mapAsync(mode: number, offset?: number, size?: number): Promise<void>; getMappedRange(offset?: number, size?: number): ArrayBuffer; unmap(): void };
type Device = any;

interface Program {
  id: number;
  pipeline: unknown;
  layout: unknown;
  /** gpu.js's Params layout: array arguments' dims offsets, scalar offsets and types, total bytes. */
  arrays: number[];
  scalars: { offset: number; type: string }[];
  paramsBytes: number;
  oneDimensional: boolean;
}

interface Slot {
  size: number;
  gpu: GpuBuffer | null;
}

export class WebGpuStream implements Executor {
  private device: Device = null;
  private readonly gpu: { createKernel(source: unknown, settings: object): any };
  private readonly programs = new Map<string, Program | Promise<Program>>();
  private readonly buffers = new Map<number, Slot>();
  private readonly pool = new Map<number, GpuBuffer[]>();
  private readonly releaseAfterSubmit: GpuBuffer[] = [];
  private readonly tags = new WeakMap<GpuBuffer, number>();
  private readonly bindGroups = new Map<string, unknown>();
  private readonly staging = new Map<number, GpuBuffer[]>();
  private arena: GpuBuffer | null = null;
  private readonly arenaMirror = new ArrayBuffer(ARENA_SLOTS * SLOT_BYTES);
  private readonly arenaI32 = new Int32Array(this.arenaMirror);
  private readonly arenaU32 = new Uint32Array(this.arenaMirror);
  private readonly arenaF32 = new Float32Array(this.arenaMirror);
  private slotsUsed = 0;
  private readonly validation: Promise<unknown>[] = [];
  private encoder: any = null;
  private pass: any = null;
  private readonly modesRan = new Set<string>();
  private readonly byKernel: Partial<Record<GpujsKernelName, number>> = {};
  private launches = 0;
  private submits = 0;
  private buffersCreated = 0;
  private bindGroupsCreated = 0;
  private nextTag = 1;
  private nextProgram = 0;
  private maxGroups = 65535;
  private storageAlign = 256;

  constructor() {
    this.gpu = new gpujs.GPU({ mode: 'webgpu' }) as unknown as WebGpuStream['gpu'];
  }

  alloc(id: number, size: number): void {
    this.buffers.set(id, { size, gpu: null });
  }

  async upload(id: number, data: Float32Array): Promise<void> {
    await this.ready();
    this.free(id);
    const slot: Slot = { size: data.length, gpu: this.acquire(data.length) };
    this.buffers.set(id, slot);
    if (data.length > 0) this.device.queue.writeBuffer(slot.gpu, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  free(id: number): void {
    const slot = this.buffers.get(id);
    if (!slot) return;
    // Nothing encoded yet in this flush: every use of the buffer was submitted, so it may go back now.
    if (slot.gpu) {
      if (this.encoder) this.releaseAfterSubmit.push(slot.gpu);
      else this.toPool(slot.gpu);
    }
    this.buffers.delete(id);
  }

  launch(launch: Launch): void | Promise<void> {
    const key = kernelKey(launch);
    const program = this.programs.get(key);
    if (program && !(program instanceof Promise)) return this.encode(program, launch);
    return this.compile(key, launch).then((p) => this.encode(p, launch));
  }

  async flush(): Promise<void> {
    this.submit();
    const errors = await Promise.all(this.validation.splice(0));
    const e = errors.find((x) => x);
    if (e) throw new Error(`WebGPU validation: ${(e as { message: string }).message}`);
  }

  /** Submits what is encoded; the validation result of the submit is checked by flush(). */
  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    const device = this.device;
    if (this.slotsUsed > 0) device.queue.writeBuffer(this.arena, 0, this.arenaMirror, 0, this.slotsUsed * SLOT_BYTES);
    device.pushErrorScope('validation');
    device.queue.submit([this.encoder.finish()]);
    this.validation.push(device.popErrorScope());
    this.submits++;
    this.encoder = null;
    this.slotsUsed = 0;
    for (const b of this.releaseAfterSubmit.splice(0)) this.toPool(b);
  }

  async read(id: number, offset = 0, size?: number): Promise<Float32Array> {
    const slot = this.entry(id);
    const n = size ?? slot.size;
    if (n === 0 || !slot.gpu) {
      await this.flush();
      return new Float32Array(n);
    }
    const bytes = n * 4;
    const staging = this.stagingBuffer(bytes);
    this.endPass();
    this.encoderNow().copyBufferToBuffer(slot.gpu, offset * 4, staging, 0, bytes);
    await this.flush();
    await staging.mapAsync(MAP_MODE_READ, 0, bytes);
    const data = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    this.staging.get(bytes)!.push(staging);
    return data;
  }

  async sync(): Promise<void> {
    await this.flush();
    if (this.device) await this.device.queue.onSubmittedWorkDone();
  }

  stats() {
    return {
      liveBuffers: this.buffers.size, compiledKernels: this.programs.size, modesRan: [...this.modesRan], launches: this.launches,
      launchesByKernel: { ...this.byKernel }, submits: this.submits, buffersCreated: this.buffersCreated, bindGroupsCreated: this.bindGroupsCreated,
    };
  }

  /** The device gpu.js shares among its kernels (acquired with the first compiled kernel). */
  private async ready(): Promise<void> {
    if (this.device) return;
    await this.compile(kernelKey(FILL_PROBE), FILL_PROBE);
  }

  private async compile(key: string, launch: Launch): Promise<Program> {
    const pending = this.programs.get(key);
    if (pending) return pending;
    const building = (async (): Promise<Program> => {
      const shortcut = this.gpu.createKernel(kernelSource(launch.kernel), kernelSettings(launch, { pipeline: true, immutable: true }));
      const kernel = shortcut.kernel;
      // Representative arguments: only their types matter to the build (argumentTypes are declared).
      const reps = launch.args.map((a) => ('buffer' in a ? new Float32Array(1) : 'int' in a ? 0 : 0.5));
      await kernel.build(...reps);
      const mode = kernel.constructor.mode as string;
      this.modesRan.add(mode);
      if (mode !== 'webgpu') throw new Error(`gpu.js built kernel '${launch.kernel}' in mode '${mode}', not webgpu`);
      // The build made an output buffer for gpu.js's own call path, which the stream never uses.
      if (kernel.outputBuffer && --kernel.outputBuffer._refs === 0) kernel.outputBuffer.destroy();
      kernel.outputBuffer = null;
      if (!this.device) {
        this.device = kernel._device;
        this.maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
        this.storageAlign = this.device.limits.minStorageBufferOffsetAlignment;
        this.arena = this.device.createBuffer({ size: ARENA_SLOTS * SLOT_BYTES, usage: USAGE_UNIFORM | USAGE_COPY_DST });
      }
      const layout = kernel.paramsLayout;
      if (layout.bufferConstants.length > 0 || layout.randomSeedOffset !== null) {
        throw new Error(`kernel '${launch.kernel}': array constants and random numbers are not supported by the stream`);
      }
      if (layout.byteLength > SLOT_BYTES) throw new Error(`kernel '${launch.kernel}': ${layout.byteLength} bytes of uniforms, over ${SLOT_BYTES}`);
      const program: Program = {
        id: this.nextProgram++,
        pipeline: kernel.computePipeline,
        layout: kernel.bindGroupLayout,
        arrays: layout.arrayArgs.map((a: { dimsOffset: number }) => a.dimsOffset),
        scalars: layout.scalarArgs.map((s: { offset: number; type: string }) => ({ offset: s.offset, type: s.type })),
        paramsBytes: layout.byteLength,
        oneDimensional: launch.output.length === 1,
      };
      this.programs.set(key, program);
      return program;
    })();
    this.programs.set(key, building);
    try {
      return await building;
    } catch (e) {
      this.programs.delete(key);
      throw e;
    }
  }

  private encode(program: Program, launch: Launch): void {
    const size = launchSize(launch);
    const out = this.entry(launch.out);
    if (out.size !== size) throw new Error(`buffer ${launch.out} holds ${out.size} elements; a kernel wrote ${size}`);
    this.launches++;
    this.byKernel[launch.kernel] = (this.byKernel[launch.kernel] ?? 0) + 1;
    if (size === 0) return;
    // the arena is full: submit what is encoded (rare; the main thread flushes more often)
    if (this.slotsUsed === ARENA_SLOTS) this.submit();
    const inputs: GpuBuffer[] = [];
    const ranges: { offset: number; size: number }[] = [];
    for (const a of launch.args) {
      if (!('buffer' in a)) continue;
      inputs.push(this.input(a.buffer));
      const whole = a.offset === undefined;
      const offset = whole ? 0 : a.offset!, n = whole ? this.entry(a.buffer).size : a.size!;
      if ((offset * 4) % this.storageAlign !== 0) throw new Error(`a view at element ${offset} is not aligned to ${this.storageAlign} bytes`);
      ranges.push({ offset, size: n });
    }
    // A kernel may not write a buffer it reads (WebGPU forbids the aliasing): write a new one.
    if (out.gpu && inputs.includes(out.gpu)) {
      this.releaseAfterSubmit.push(out.gpu);
      out.gpu = null;
    }
    out.gpu ??= this.acquire(size);
    const slot = this.slotsUsed++;
    const base = (slot * SLOT_BYTES) / 4;
    const [tx, ty, tz] = [launch.output[0]!, launch.output[1] ?? 1, launch.output[2] ?? 1];
    const groups = program.oneDimensional ? [Math.ceil(tx / 64), 1, 1] : [Math.ceil(tx / 8), Math.ceil(ty / 8), tz];
    let dispatchWidth = 0;
    if (program.oneDimensional) {
      if (groups[0]! > this.maxGroups) {
        groups[1] = Math.ceil(groups[0]! / this.maxGroups);
        groups[0] = Math.ceil(groups[0]! / groups[1]!);
      }
      dispatchWidth = groups[0]! * 64;
    }
    if (groups.some((g) => g > this.maxGroups)) throw new Error(`output [${launch.output.join(', ')}] needs [${groups.join(', ')}] workgroups, over ${this.maxGroups}`);
    const u32 = this.arenaU32, i32 = this.arenaI32, f32 = this.arenaF32;
    u32[base] = tx; u32[base + 1] = ty; u32[base + 2] = tz; u32[base + 3] = dispatchWidth;
    let arg = 0, scalar = 0;
    const key: (number | string)[] = [program.id, slot];
    for (const a of launch.args) {
      if ('buffer' in a) {
        const at = base + program.arrays[arg]! / 4;
        const { offset, size: n } = ranges[arg]!;
        u32[at] = n; u32[at + 1] = 1; u32[at + 2] = 1; u32[at + 3] = n;
        key.push(this.tag(inputs[arg]!), offset, n);
        arg++;
      } else {
        const s = program.scalars[scalar++]!;
        if (s.type === 'Integer') i32[base + s.offset / 4] = (a as { int: number }).int;
        else f32[base + s.offset / 4] = (a as { float: number }).float;
      }
    }
    key.push(this.tag(out.gpu));
    const bindKey = key.join(',');
    let bindGroup = this.bindGroups.get(bindKey);
    if (!bindGroup) {
      const entries: object[] = [{ binding: 0, resource: { buffer: this.arena, offset: slot * SLOT_BYTES, size: program.paramsBytes } }];
      inputs.forEach((b, i) => entries.push({
        binding: 1 + i, resource: { buffer: b, offset: ranges[i]!.offset * 4, size: Math.max(ranges[i]!.size, 1) * 4 },
      }));
      entries.push({ binding: 1 + inputs.length, resource: { buffer: out.gpu, offset: 0, size: Math.max(size, 1) * 4 } });
      bindGroup = this.device.createBindGroup({ layout: program.layout, entries });
      this.bindGroupsCreated++;
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
      this.bindGroups.set(bindKey, bindGroup);
    }
    const pass = this.passNow();
    pass.setPipeline(program.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
  }

  private entry(id: number): Slot {
    const slot = this.buffers.get(id);
    if (!slot) throw new Error(`buffer ${id} does not exist (already disposed?)`);
    return slot;
  }

  /** The device buffer of input `id`; a buffer never written reads as zeros. */
  private input(id: number): GpuBuffer {
    const slot = this.entry(id);
    if (!slot.gpu) {
      slot.gpu = this.acquire(slot.size);
      this.endPass();
      this.encoderNow().clearBuffer(slot.gpu);
    }
    return slot.gpu;
  }

  private encoderNow(): any {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private passNow(): any {
    this.pass ??= this.encoderNow().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) this.pass.end();
    this.pass = null;
  }

  private acquire(size: number): GpuBuffer {
    const bytes = Math.max(size, 1) * 4;
    const free = this.pool.get(bytes);
    if (free?.length) return free.pop()!;
    this.buffersCreated++;
    const b = this.device.createBuffer({ size: bytes, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST }) as GpuBuffer;
    this.tags.set(b, this.nextTag++);
    return b;
  }

  /**
   * Each size's free list is kept in descending tag order and handed out from the end, lowest tag
   * first: which buffer a launch gets depends only on which are free, not on the order they came
   * back in, so a repeating step gets the same buffers (and bind groups) every time.
   */
  private toPool(b: GpuBuffer): void {
    let list = this.pool.get(b.size);
    if (!list) this.pool.set(b.size, (list = []));
    const tag = this.tag(b);
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tag(list[mid]!) > tag) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, b);
  }

  private tag(b: GpuBuffer): number {
    return this.tags.get(b)!;
  }

  private stagingBuffer(bytes: number): GpuBuffer {
    let list = this.staging.get(bytes);
    if (!list) this.staging.set(bytes, (list = []));
    if (list.length) return list.pop()!;
    this.buffersCreated++;
    return this.device.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST }) as GpuBuffer;
  }
}

const FILL_PROBE: Launch = { kernel: 'fill', output: [1], args: [{ float: 0 }], out: -1 };
