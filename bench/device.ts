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
import { ctStepCase, sampleCase } from './step-cases';
import type { BenchCase, Row } from './harness';

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

// benny's benchmark.js does not survive bundling: a plain timing loop, median of >= 5 runs after one warm-up.
async function measure(c: BenchCase): Promise<Row> {
  const run = await c.setup();
  run();
  const times: number[] = [];
  const until = performance.now() + 1000;
  while (times.length < 5 || (performance.now() < until && times.length < 200)) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1]! / 1e3;
  return {
    name: c.name, backend: c.backend, median_ms: median * 1e3,
    gflops: c.flops === undefined ? null : c.flops / median / 1e9, gbps: c.bytes === undefined ? null : c.bytes / median / 1e9,
  };
}

const rows: Row[] = [];
for (const c of [...gpujsCases(gpu as Backend, true), ctStepCase('webgpu'), sampleCase('webgpu')]) rows.push(await measure(c));
const cpu = cpuBackend as Backend;
for (const c of [gemmCase(cpu, 1024, 1024, 1024, 'gemm-1024'), ...(['fwd', 'dgrad', 'wgrad'] as const).map((k) => convCase(cpu, k, 32, 64, 32)), ctStepCase('cpu'), sampleCase('cpu')]) {
  rows.push(await measure(c));
}
console.table(rows.map((r) => ({
  name: r.name, backend: r.backend, 'median ms': r.median_ms.toFixed(3), 'GFLOP/s': r.gflops?.toFixed(1) ?? '', 'GB/s': r.gbps?.toFixed(1) ?? '',
})));
const result = {
  adapter: gpu.adapter, cpu: `${cpus()[0]?.model}, ${cpus().length} cores`, node: process.version,
  parity, modesRan, rows, seconds: (performance.now() - started) / 1e3,
};
writeFileSync(join(outDir, 'device-results.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`done in ${result.seconds.toFixed(0)} s; parity ${parity.filter((p) => p.ok).length}/${parity.length} passed`);
process.exit(parity.every((p) => p.ok) && modesRan.join() === 'webgpu' ? 0 : 1);
