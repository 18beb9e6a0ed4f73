import type { GpujsKernelName } from './sources';

// What a gpu.js kernel call needs, described as data: the main thread plans launches and the
// device worker runs them (kernels/gpujs/host.ts), so no kernel function ever crosses a thread.

/** The `this` inside a gpu.js kernel body. */
export interface KernelThis {
  thread: { x: number; y: number; z: number };
  constants: Record<string, number>;
}

// Kernel bodies are parsed by gpu.js from their source: plain JavaScript only, no closures, no
// imported helpers. Integer index math must stay integer on the GPU: gpu.js types every local
// variable as f32 (exact only below 2^24), so indices are written inline from Integer arguments
// and `this.thread.*`, and any f32 local that enters an index is converted back with `| 0`.
export type KernelSource = (this: KernelThis, ...args: never[]) => number;

/** A kernel assembled as text (gpu.js parses it like a function's source). */
export const kernelText = (params: string, body: string): string => `function (${params}) { ${body} }`;

export type LaunchArg =
  | { buffer: number; offset?: number; size?: number } // a device buffer by id, or the view [offset, offset + size) of one
  | { int: number } // an i32 uniform
  | { float: number }; // an f32 uniform

export interface Launch {
  kernel: GpujsKernelName;
  /** Compile-time constants (op codes); one compiled kernel per distinct set. */
  constants?: Record<string, number>;
  /** gpu.js output dimensions [x] | [x, y] | [x, y, z]; elements land at x + X (y + Y z). */
  output: number[];
  args: LaunchArg[];
  /** The buffer id the result is stored under. */
  out: number;
}

/** Elements a launch writes: the output grid has exactly as many as its buffer. */
export const launchSize = (launch: Launch): number => launch.output.reduce((a, b) => a * b, 1);

/** Device limits of gpu.js's dispatch: 2-D/3-D outputs use 8x8x1 workgroups, at most 65535 per dimension. */
export const MAX_GRID_XY = 8 * 65535;
export const MAX_GRID_Z = 65535;

/** Throws, naming the op and `fix`, when a 2-D/3-D output grid is over the dispatch limits. */
export function checkGrid(op: string, output: readonly number[], fix: string): void {
  if (output.length > 1 && (output[0]! > MAX_GRID_XY || output[1]! > MAX_GRID_XY || (output[2] ?? 1) > MAX_GRID_Z)) {
    throw new Error(`${op}: its dispatch grid [${output.join(', ')}] is over the WebGPU limits (${MAX_GRID_XY}, ${MAX_GRID_XY}, ${MAX_GRID_Z}); ${fix}.`);
  }
}

export const buf = (id: number): LaunchArg => ({ buffer: id });
export const int = (v: number): LaunchArg => ({ int: v });
export const float = (v: number): LaunchArg => ({ float: v });
