import gpujs from 'gpu.js';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel } from './conv';
import { gatherKernel, scatterBoxKernel } from './copy';
import { binaryKernel, fillKernel, unaryGradKernel, unaryKernel, whereKernel } from './elementwise';
import { type KernelSource, type KernelThis, type Launch, launchSize } from './launch';
import { matmulKernel } from './matmul';
import {
  groupGradSumKernel, groupMeanKernel, groupNormApplyKernel, groupNormGradInputKernel, groupNormGradParamKernel, groupRstdKernel,
} from './norm';
import { reduceKernel } from './reduce';
import { upsample2xBackwardKernel, upsample2xKernel } from './resample';

// Runs launches on one gpu.js instance, inside the device worker. Buffers live here, by id: on
// `webgpu` as gpu.js pipeline handles (GPU memory, never copied to the host between kernels), on
// the other modes as Float32Arrays.

export type GpujsMode = 'webgpu' | 'webasm' | 'gpujs-cpu';
const GPUJS_MODE: Record<GpujsMode, 'webgpu' | 'webasm' | 'cpu'> = { webgpu: 'webgpu', webasm: 'webasm', 'gpujs-cpu': 'cpu' };

function uploadKernel(this: KernelThis, x: number[]): number {
  return x[this.thread.x];
}

export const KERNEL_SOURCES: Record<string, KernelSource> = {
  upload: uploadKernel as KernelSource,
  fill: fillKernel as KernelSource,
  unary: unaryKernel as KernelSource,
  unaryGrad: unaryGradKernel as KernelSource,
  binary: binaryKernel as KernelSource,
  where: whereKernel as KernelSource,
  gather: gatherKernel as KernelSource,
  scatterBox: scatterBoxKernel as KernelSource,
  reduce: reduceKernel as KernelSource,
  matmul: matmulKernel as KernelSource,
  conv2d: conv2dKernel as KernelSource,
  conv2dGradInput: conv2dGradInputKernel as KernelSource,
  conv2dGradWeight: conv2dGradWeightKernel as KernelSource,
  groupMean: groupMeanKernel as KernelSource,
  groupRstd: groupRstdKernel as KernelSource,
  groupNormApply: groupNormApplyKernel as KernelSource,
  groupGradSum: groupGradSumKernel as KernelSource,
  groupNormGradInput: groupNormGradInputKernel as KernelSource,
  groupNormGradParam: groupNormGradParamKernel as KernelSource,
  upsample2x: upsample2xKernel as KernelSource,
  upsample2xBackward: upsample2xBackwardKernel as KernelSource,
};

/** A gpu.js pipeline handle (WebGPUBufferResult). */
interface DeviceHandle {
  buffer: { destroy(): void };
  context: { device: GpuDevice };
  delete(): void;
}
type GpuDevice = {
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createCommandEncoder(): { copyBufferToBuffer(...a: unknown[]): void; finish(): unknown };
  queue: { submit(c: unknown[]): void };
};
type GpuBuffer = { mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void; destroy(): void };
type Value = DeviceHandle | Float32Array;
type CompiledKernel = ((...args: unknown[]) => unknown) & { setOutput(o: number[]): void; kernel?: { constructor: { mode?: string } } };

const MAP_READ = 0x0001, COPY_DST = 0x0008, MAP_MODE_READ = 0x0001;

export interface HostStats {
  liveBuffers: number;
  compiledKernels: number;
  /** The gpu.js modes that really executed kernels (gpu.js can fall back to `cpu` with only a warning). */
  modesRan: string[];
  launches: number;
}

export class DeviceHost {
  private readonly gpu: { createKernel(source: KernelSource, settings: object): CompiledKernel; destroy?(): void };
  private readonly buffers = new Map<number, { size: number; value: Value | null }>();
  private readonly kernels = new Map<string, CompiledKernel>();
  private readonly modesRan = new Set<string>();
  private launches = 0;

  constructor(readonly mode: GpujsMode) {
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
    const entry = this.buffers.get(id);
    if (!entry) return;
    this.release(entry.value);
    this.buffers.delete(id);
  }

  async launch(launch: Launch): Promise<void> {
    if (launchSize(launch) === 0) {
      this.store(launch.out, 0, new Float32Array(0));
      return;
    }
    const args: unknown[] = [];
    for (const a of launch.args) {
      if ('buffer' in a) args.push(await this.input(a.buffer));
      else args.push('int' in a ? a.int : a.float);
    }
    await this.run(launch, args);
  }

  async read(id: number): Promise<Float32Array> {
    const entry = this.entry(id);
    if (entry.size === 0) return new Float32Array(0);
    const value = await this.input(id);
    if (value instanceof Float32Array) return value;
    const device = value.context.device;
    const bytes = entry.size * 4;
    const staging = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(value.buffer, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    const data = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return data;
  }

  stats(): HostStats {
    return { liveBuffers: this.buffers.size, compiledKernels: this.kernels.size, modesRan: [...this.modesRan], launches: this.launches };
  }

  private entry(id: number): { size: number; value: Value | null } {
    const entry = this.buffers.get(id);
    if (!entry) throw new Error(`buffer ${id} does not exist (already disposed?)`);
    return entry;
  }

  /** The value to pass for buffer `id`; a buffer never written reads as zeros. */
  private async input(id: number): Promise<Value> {
    const entry = this.entry(id);
    if (entry.value === null && entry.size === 0) entry.value = new Float32Array(0);
    if (entry.value === null) {
      await this.run({ kernel: 'fill', output: [entry.size], args: [{ float: 0 }], out: id }, [0]);
    }
    return entry.value!;
  }

  private async run(launch: Launch, args: unknown[]): Promise<void> {
    const kernel = this.compiled(launch, args);
    kernel.setOutput(launch.output);
    const result = await kernel(...args);
    this.launches++;
    const ran = kernel.kernel?.constructor.mode;
    if (ran) this.modesRan.add(ran);
    const size = launchSize(launch);
    this.store(launch.out, size, this.mode === 'webgpu' ? (result as DeviceHandle) : flatten(result, size));
  }

  private compiled(launch: Launch, args: unknown[]): CompiledKernel {
    const key = `${launch.kernel}|${launch.output.length}|${JSON.stringify(launch.constants ?? {})}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      const source = KERNEL_SOURCES[launch.kernel];
      if (!source) throw new Error(`no gpu.js kernel named '${launch.kernel}'`);
      const argumentTypes = launch.kernel === 'upload'
        ? ['Array']
        : launch.args.map((a) => ('buffer' in a ? 'Array' : 'int' in a ? 'Integer' : 'Float'));
      if (argumentTypes.length !== args.length) throw new Error(`kernel '${launch.kernel}': ${args.length} arguments for ${argumentTypes.length} types`);
      kernel = this.gpu.createKernel(source, {
        output: launch.output,
        constants: launch.constants ?? {},
        argumentTypes,
        dynamicOutput: true,
        dynamicArguments: true,
        // Loop bounds come from arguments; gpu.js silently caps such loops at loopMaxIterations.
        loopMaxIterations: 0x7fffffff,
        precision: 'single',
        tactic: 'precision',
        ...(this.mode === 'webgpu' ? { pipeline: true, immutable: true } : {}),
      });
      this.kernels.set(key, kernel);
    }
    return kernel;
  }

  private store(id: number, size: number, value: Value): void {
    const entry = this.entry(id);
    if (entry.size !== size) throw new Error(`buffer ${id} holds ${entry.size} elements; a kernel wrote ${size}`);
    this.release(entry.value);
    entry.value = value;
  }

  private release(value: Value | null): void {
    if (value && !(value instanceof Float32Array)) value.delete();
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
