// The GPU machine's check, in one run: the webgpu backend on whatever adapter Dawn finds there
// (Vulkan on an NVIDIA card), the kernel parity cases of test/parity/gpujs-cases.ts, then the
// benchmark rows of the webgpu backend beside this engine's CPU backend on the same machine.
// Built into a self-contained bundle by bench/device/prepare.sh (the GPU machine has no npm);
// run by bench/device/run.sh. Writes device-results.json into the folder given as argv[2].
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { cpuBackend } from '../kernels/cpu/index';
import type { Backend } from '../src/backend/backend';
import { gpujsBackend } from '../src/backends';
import { gpujsParityCases } from '../test/parity/gpujs-cases';
import { convCase, gemmCase, gpujsCases } from './engine-cases';
import { ctStepCase, launchChainCase, sampleCase } from './step-cases';
import type { BenchCase, Row } from './harness';
import { initTfjsWebgpu, tfjsLaunchChainCase, tfjsWebgpuCases } from './tfjs-webgpu';

const outDir = process.argv[2] ?? '.';
const started = performance.now();
const gpu = gpujsBackend('webgpu');
console.log(`webgpu adapter: ${gpu.adapter?.description} (software: ${gpu.adapter?.software})`);

const parity: { name: string; ok: boolean; ms: number; error?: string }[] = [];
for (const c of gpujsParityCases(gpu)) {
  const t = performance.now();
  try {
    c.run();
    parity.push({ name: c.name, ok: true, ms: performance.now() - t });
  } catch (e) {
    parity.push({ name: c.name, ok: false, ms: performance.now() - t, error: (e as Error).message.slice(0, 300) });
  }
}
const modesRan = gpu.stats().modesRan;
console.table(parity.map((p) => ({ case: p.name, result: p.ok ? 'pass' : `FAIL: ${p.error}`, ms: p.ms.toFixed(0) })));
console.log(`gpu.js modes that ran: ${modesRan.join(', ')}`);

// benny's benchmark.js does not survive bundling: a plain timing loop, median of >= 5 runs after
// one warm-up. Every gpu.js row waits for the device (step-cases.ts, engine-cases.ts), TF.js rows
// read their result back.
async function measure(c: BenchCase): Promise<Row> {
  const run = await c.setup();
  await run();
  const times: number[] = [];
  const until = performance.now() + 1000;
  while (times.length < 5 || (performance.now() < until && times.length < 200)) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1]! / 1e3;
  c.teardown?.();
  return {
    name: c.name, backend: c.backend, median_ms: median * 1e3,
    gflops: c.flops === undefined ? null : c.flops / median / 1e9, gbps: c.bytes === undefined ? null : c.bytes / median / 1e9,
    ...(c.launches === undefined ? {} : { us_per_launch: (median * 1e6) / c.launches }),
    ...(c.counters ? { counters: c.counters } : {}),
  };
}

const rows: Row[] = [];
for (const c of [...gpujsCases(gpu as Backend, true), launchChainCase('webgpu'), ctStepCase('webgpu'), sampleCase('webgpu')]) rows.push(await measure(c));
// The peer on the same card: TensorFlow.js's WebGPU backend (checked against our forward first).
try {
  console.log(`TensorFlow.js: ${await initTfjsWebgpu()}`);
  for (const c of [tfjsLaunchChainCase(), ...tfjsWebgpuCases()]) rows.push(await measure(c));
} catch (e) {
  console.log(`TensorFlow.js webgpu: not measured: ${(e as Error).message}`);
}
const cpu = cpuBackend as Backend;
for (const c of [gemmCase(cpu, 1024, 1024, 1024, 'gemm-1024'), ...(['fwd', 'dgrad', 'wgrad'] as const).map((k) => convCase(cpu, k, 32, 64, 32)), ctStepCase('cpu'), sampleCase('cpu')]) {
  rows.push(await measure(c));
}
console.table(rows.map((r) => ({
  name: r.name, backend: r.backend, 'median ms': r.median_ms.toFixed(3), 'GFLOP/s': r.gflops?.toFixed(1) ?? '', 'GB/s': r.gbps?.toFixed(1) ?? '',
  'us/launch': r.us_per_launch?.toFixed(1) ?? '',
  'launches/submits/messages': r.counters ? `${r.counters.launches_per_step} / ${r.counters.submits_per_step} / ${r.counters.messages_per_step}` : '',
})));
console.table(rows.filter((r) => r.backend === 'tfjs-webgpu').map((t) => {
  const ours = rows.find((r) => r.backend === 'webgpu' && r.name === t.name);
  return { name: t.name, 'tfjs-webgpu ms': t.median_ms.toFixed(3), 'onestep webgpu ms': ours?.median_ms.toFixed(3) ?? '', 'tfjs / onestep': ours ? (t.median_ms / ours.median_ms).toFixed(2) : '' };
}));
const result = {
  adapter: gpu.adapter, cpu: `${cpus()[0]?.model}, ${cpus().length} cores`, node: process.version,
  parity, modesRan, rows, seconds: (performance.now() - started) / 1e3,
};
writeFileSync(join(outDir, 'device-results.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`done in ${result.seconds.toFixed(0)} s; parity ${parity.filter((p) => p.ok).length}/${parity.length} passed`);
process.exit(parity.every((p) => p.ok) && modesRan.join() === 'webgpu' ? 0 : 1);
