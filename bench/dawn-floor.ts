// The floor under any WebGPU launch on this adapter: raw Dawn, no engine, no gpu.js. 2,000 dependent
// dispatches of a 16-element add (same shape as the launch-chain rows), each with its own
// prebuilt bind group, recorded into one command encoder and one compute pass, submitted once, timed
// until the device has finished. Needs navigator.gpu on the main thread (initTfjsWebgpu installs it).
import type { BenchCase } from './harness';

const LAUNCHES = 2000;
const ADD = `struct P { n : u32, a : u32, b : u32, c : u32 }
@group(0) @binding(0) var<uniform> p : P;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> y : array<f32>;
@group(0) @binding(3) var<storage, read_write> o : array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g : vec3<u32>) { if (g.x < p.n) { o[g.x] = x[g.x] + y[g.x]; } }`;

/* eslint-disable @typescript-eslint/no-explicit-any -- Dawn's objects, typed loosely */
export function dawnFloorCase(): BenchCase {
  return {
    name: `launch-chain-${LAUNCHES}-add16`,
    backend: 'dawn-raw',
    launches: LAUNCHES,
    setup: async () => {
      const gpu = (globalThis as any).navigator?.gpu;
      if (!gpu) throw new Error('dawn-raw: navigator.gpu is not installed (initTfjsWebgpu first)');
      const device = await (await gpu.requestAdapter()).requestDevice();
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: ADD }), entryPoint: 'main' } });
      const layout = pipeline.getBindGroupLayout(0);
      const uniform = device.createBuffer({ size: 16, usage: 0x40 | 0x08 });
      device.queue.writeBuffer(uniform, 0, new Uint32Array([16, 0, 0, 0]));
      const buffers = Array.from({ length: LAUNCHES + 2 }, () => device.createBuffer({ size: 64, usage: 0x80 | 0x04 | 0x08 }));
      // x_{i+1} = x_i + y: buffer 0 is y, 1 is x_0
      const groups = Array.from({ length: LAUNCHES }, (_, i) => device.createBindGroup({
        layout,
        entries: [
          { binding: 0, resource: { buffer: uniform } }, { binding: 1, resource: { buffer: buffers[i + 1] } },
          { binding: 2, resource: { buffer: buffers[0] } }, { binding: 3, resource: { buffer: buffers[i + 2] } },
        ],
      }));
      return async () => {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        for (const group of groups) {
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(1);
        }
        pass.end();
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
      };
    },
  };
}
