import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel } from './conv';
import { concatKernel, GATHER_SOURCE, SCATTER_BOX_SOURCE } from './copy';
import { ELEMENTWISE_SOURCES } from './elementwise';
import type { KernelSource, Launch } from './launch';
import { matmulKernel } from './matmul';
import {
  GROUP_GRAD_SUM_SOURCE, GROUP_NORM_GRAD_INPUT_SOURCE, GROUP_NORM_GRAD_PARAM_SOURCE, groupNormApplyKernel, groupStatsKernel,
} from './norm';
import { adamwKernel, axpbyKernel } from './optim';
import { reduceKernel } from './reduce';
import { upsample2xBackwardKernel, upsample2xKernel } from './resample';
import { softmaxApplyKernel, softmaxExpSumKernel, softmaxGradApplyKernel, softmaxRowDotKernel } from './softmax';

// Every gpu.js kernel body by name, how a launch compiles, and what both executors report
// (kernels/gpujs/host.ts for gpu.js's CPU-side modes, kernels/gpujs/stream.ts for webgpu).

export type GpujsMode = 'webgpu' | 'webasm' | 'gpujs-cpu';
export const GPUJS_MODE: Record<GpujsMode, 'webgpu' | 'webasm' | 'cpu'> = { webgpu: 'webgpu', webasm: 'webasm', 'gpujs-cpu': 'cpu' };

function uploadKernel(this: { thread: { x: number } }, x: number[]): number {
  return x[this.thread.x];
}

/** Kernel bodies as functions, or as text assembled from shared pieces (elementwise.ts). */
const KERNEL_SOURCES = {
  upload: uploadKernel as KernelSource,
  ...ELEMENTWISE_SOURCES,
  gather: GATHER_SOURCE,
  scatterBox: SCATTER_BOX_SOURCE,
  concat: concatKernel as KernelSource,
  reduce: reduceKernel as KernelSource,
  softmaxExpSum: softmaxExpSumKernel as KernelSource,
  softmaxApply: softmaxApplyKernel as KernelSource,
  softmaxRowDot: softmaxRowDotKernel as KernelSource,
  softmaxGradApply: softmaxGradApplyKernel as KernelSource,
  matmul: matmulKernel as KernelSource,
  conv2d: conv2dKernel as KernelSource,
  conv2dGradInput: conv2dGradInputKernel as KernelSource,
  conv2dGradWeight: conv2dGradWeightKernel as KernelSource,
  groupStats: groupStatsKernel as KernelSource,
  groupNormApply: groupNormApplyKernel as KernelSource,
  groupGradSum: GROUP_GRAD_SUM_SOURCE,
  groupNormGradInput: GROUP_NORM_GRAD_INPUT_SOURCE,
  groupNormGradParam: GROUP_NORM_GRAD_PARAM_SOURCE,
  upsample2x: upsample2xKernel as KernelSource,
  upsample2xBackward: upsample2xBackwardKernel as KernelSource,
  adamw: adamwKernel as KernelSource,
  axpby: axpbyKernel as KernelSource,
} satisfies Record<string, KernelSource | string>;

/** The name of a gpu.js kernel: what a Launch runs. */
export type GpujsKernelName = keyof typeof KERNEL_SOURCES;

export const kernelKey = (launch: Launch): string => `${launch.kernel}|${launch.output.length}|${JSON.stringify(launch.constants ?? {})}`;

/** gpu.js createKernel settings for a launch (one compiled kernel per kernelKey). */
export function kernelSettings(launch: Launch, extra: object = {}): object {
  const argumentTypes = launch.kernel === 'upload'
    ? ['Array']
    : launch.args.map((a) => ('buffer' in a ? 'Array' : 'int' in a ? 'Integer' : 'Float'));
  return {
    output: launch.output,
    constants: launch.constants ?? {},
    argumentTypes,
    dynamicOutput: true,
    dynamicArguments: true,
    // Loop bounds come from arguments; gpu.js silently caps such loops at loopMaxIterations.
    loopMaxIterations: 0x7fffffff,
    precision: 'single',
    tactic: 'precision',
    ...extra,
  };
}

export function kernelSource(name: GpujsKernelName): KernelSource | string {
  // a launch names its kernel through a message: check it here all the same
  const source: KernelSource | string | undefined = KERNEL_SOURCES[name];
  if (!source) throw new Error(`no gpu.js kernel named '${name}'`);
  return source;
}

export interface HostStats {
  liveBuffers: number;
  compiledKernels: number;
  /** The gpu.js modes that really executed kernels (gpu.js can fall back to `cpu` with only a warning). */
  modesRan: string[];
  launches: number;
  /** Launches by kernel name. */
  launchesByKernel: Partial<Record<GpujsKernelName, number>>;
  /** Flush messages the worker received. */
  messages: number;
  /** queue.submit calls (webgpu; 0 on the CPU-side modes). */
  submits: number;
  /** Device buffers created (webgpu: the pool's misses; 0 on the CPU-side modes). */
  buffersCreated: number;
  bindGroupsCreated: number;
}

/** What runs a flush's commands inside the device worker. */
export interface Executor {
  alloc(id: number, size: number): void;
  upload(id: number, data: Float32Array): void | Promise<void>;
  free(id: number): void;
  /** Runs (or encodes) one launch; a Promise only when it has to wait (a kernel compiling). */
  launch(launch: Launch): void | Promise<void>;
  /** Submits what is encoded, without waiting. */
  submit(): void;
  /** Submits what is encoded and reports any failure of what was submitted so far. */
  flush(): Promise<void>;
  /** The buffer's values, or those of its range [offset, offset + size). */
  read(id: number, offset?: number, size?: number): Promise<Float32Array>;
  /** Resolves when the device has finished everything submitted. */
  sync(): Promise<void>;
  stats(): Omit<HostStats, 'messages'>;
}
