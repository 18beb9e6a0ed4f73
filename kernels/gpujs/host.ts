import gpujs from 'gpu.js';
import { type Launch, launchSize } from './launch';
import { type Executor, GPUJS_MODE, type GpujsKernelName, type GpujsMode, kernelKey, kernelSettings, kernelSource } from './sources';

export type { GpujsMode, HostStats } from './sources';

// Runs launches one by one on gpu.js's CPU-side modes (`webasm`, `cpu`) inside the device worker.
// Buffers live here as Float32Arrays, by id. The webgpu mode has its own executor (stream.ts).

type CompiledKernel = ((...args: unknown[]) => unknown) & { setOutput(o: number[]): void; kernel?: { constructor: { mode?: string } } };

export class DeviceHost implements Executor {
  private readonly gpu: { createKernel(source: unknown, settings: object): CompiledKernel };
  private readonly buffers = new Map<number, { size: number; value: Float32Array | null }>();
  private readonly kernels = new Map<string, CompiledKernel>();
  private readonly modesRan = new Set<string>();
  private readonly byKernel: Partial<Record<GpujsKernelName, number>> = {};
  private launches = 0;

  constructor(readonly mode: Exclude<GpujsMode, 'webgpu'>) {
    this.gpu = new gpujs.GPU({ mode: GPUJS_MODE[mode] }) as unknown as DeviceHost['gpu'];
  }

  alloc(id: number, size: number): void {
    this.buffers.set(id, { size, value: null });
  }

  async upload(id: number, data: Float32Array): Promise<void> {
    this.alloc(id, data.length);
    if (data.length > 0) await this.run({ kernel: 'upload', output: [data.length], args: [], out: id }, [data]);
  }

  free(id: number): void {
    this.buffers.delete(id);
  }

  async launch(launch: Launch): Promise<void> {
    if (launchSize(launch) === 0) {
      this.store(launch.out, 0, new Float32Array(0));
      return;
    }
    const args = launch.args.map((a) => {
      if (!('buffer' in a)) return 'int' in a ? a.int : a.float;
      const value = this.input(a.buffer);
      return a.offset === undefined ? value : value.subarray(a.offset, a.offset + a.size!);
    });
    await this.run(launch, args);
  }

  submit(): void {}
  async flush(): Promise<void> {}
  async sync(): Promise<void> {}

  async read(id: number, offset = 0, size?: number): Promise<Float32Array> {
    const value = this.input(id);
    return value.slice(offset, offset + (size ?? value.length));
  }

  stats() {
    return {
      liveBuffers: this.buffers.size, compiledKernels: this.kernels.size, modesRan: [...this.modesRan], launches: this.launches,
      launchesByKernel: { ...this.byKernel }, submits: 0, buffersCreated: 0, bindGroupsCreated: 0,
    };
  }

  private entry(id: number): { size: number; value: Float32Array | null } {
    const entry = this.buffers.get(id);
    if (!entry) throw new Error(`buffer ${id} does not exist (already disposed?)`);
    return entry;
  }

  /** The value of buffer `id`; a buffer never written reads as zeros. */
  private input(id: number): Float32Array {
    const entry = this.entry(id);
    entry.value ??= new Float32Array(entry.size);
    return entry.value;
  }

  private async run(launch: Launch, args: unknown[]): Promise<void> {
    const key = kernelKey(launch);
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = this.gpu.createKernel(kernelSource(launch.kernel), kernelSettings(launch));
      this.kernels.set(key, kernel);
    }
    kernel.setOutput(launch.output);
    const result = await kernel(...args);
    this.launches++;
    this.byKernel[launch.kernel] = (this.byKernel[launch.kernel] ?? 0) + 1;
    const ran = kernel.kernel?.constructor.mode;
    if (ran) this.modesRan.add(ran);
    const size = launchSize(launch);
    this.store(launch.out, size, flatten(result, size));
  }

  private store(id: number, size: number, value: Float32Array): void {
    const entry = this.entry(id);
    if (entry.size !== size) throw new Error(`buffer ${id} holds ${entry.size} elements; a kernel wrote ${size}`);
    entry.value = value;
  }
}

/** gpu.js's CPU-side modes return nested arrays for 2-D/3-D outputs, and may reuse them: copy out. */
function flatten(result: unknown, size: number): Float32Array {
  const out = new Float32Array(size);
  let at = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Float32Array || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      out.set(v as Float32Array, at);
      at += (v as Float32Array).length;
    } else if (Array.isArray(v)) {
      for (const row of v) walk(row);
    } else if (typeof v === 'number') {
      out[at++] = v;
    } else {
      throw new Error(`unexpected kernel result ${Object.prototype.toString.call(v)}`);
    }
  };
  walk(result);
  if (at !== size) throw new Error(`kernel result has ${at} elements, expected ${size}`);
  return out;
}
