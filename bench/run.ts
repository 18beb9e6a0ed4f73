// npm run bench [-- --quick] [-- --no-tfjs]: benny suites for the hot kernels on this engine's
// CPU backends and, side by side, TensorFlow.js's wasm backend (and its webgpu backend beside our
// webgpu one). Prints a table with medians, GFLOP/s or GB/s and the TF.js / onestep time ratios;
// writes bench/results/latest.json. npm run bench -- --soak: the leak soak of bench/soak.ts instead.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backend/backend';
import { gpujsBackend } from '../src/backends';
import { engineFullCases, engineQuickCases, gpujsCases } from './engine-cases';
import { measure, type BenchCase, type Row } from './harness';
import { ctStepCase, launchChainCase, sampleCase } from './step-cases';
import { initTfjsWasm, tfjsQuickCases } from './tfjs-cases';
import { dawnFloorCase } from './dawn-floor';
import { initTfjsWebgpu, tfjsWebgpuCases, tfjsWebgpuSoftware } from './tfjs-webgpu';
import { printSoak, soak, SOAK_DEFAULTS, soakBackend, type SoakRow } from './soak';
import { benchThreads, checkTorchForward, checkTorchUNetForward, findTorch, REFERENCE_BLAS, TORCH_MISSING, torchRow, torchUNetRow, type TorchRow } from './torch-peer';
import { IMAGENET64_BATCHES, IMAGENET9_STEP, imagenet64SampleName, imagenet64UNet, imagenet9UNet, torchUNetOf, UNET_SAMPLING, unetCases } from './unet-cases';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-tfjs': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    backends: { type: 'string' },
    only: { type: 'string' },
    soak: { type: 'boolean', default: false },
    'soak-steps': { type: 'string', default: String(SOAK_DEFAULTS.steps) },
    'soak-batch': { type: 'string', default: String(SOAK_DEFAULTS.batch) },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`npm run bench [-- options]
  --quick     only the headline rows (gemm-1024, conv2d c64 32x32 batch 32, the SimpleUNet
              consistency-training step and 1-step sampling), fewer samples; without it also the
              UNet rows (${IMAGENET9_STEP}, ${IMAGENET64_BATCHES.map(imagenet64SampleName).join(', ')}:
              several minutes with PyTorch's; --only imagenet runs them alone)
  --no-tfjs   skip the TensorFlow.js rows (wasm; webgpu when webgpu is in --backends)
  --no-torch  skip the PyTorch CPU rows (bench/torch_peer.py: the SimpleUNet step and sampling,
              D=32, and D=64 without --quick, and the step's peak RSS beside ours; without --quick
              also the ADM-style UNet's: the imagenet9 example's training step and one-step
              sampling with the official ImageNet-64 architecture, batch 1 and 8; run when a
              python3 here imports torch, else the bench says how to install it)
  --backends LIST   comma-separated: cpu, webgpu, webasm, gpujs-cpu [all]; a gpu.js backend
              that cannot start here is reported and skipped
  --only TEXT the rows whose name contains TEXT (e.g. launch-chain); they replace the rows of
              the same name and backend in latest.json, the others stay
  --soak      instead of the suites, the leak soak: per backend, a SimpleUNet D=32 ict training
              run with a checkpoint and 1- and 2-step sample grids every ${SOAK_DEFAULTS.checkpointEvery} steps;
              live buffers (Backend.memoryStats) and RSS after step 50, every 100 steps and at the
              end; prints a verdict per backend (flat or growing, growth per 1,000 steps) and
              writes rows soak-simpleunet-d32-<backend> (replacing those rows in latest.json). With
              --soak the default --backends is cpu, plus webgpu on a hardware adapter (name webgpu
              to soak it on a software one). Each measurement follows a full garbage collection
              (global.gc under node --expose-gc, else the flag is set at run time).
  --soak-steps N    training steps per backend [${SOAK_DEFAULTS.steps}]
  --soak-batch N    images per step [${SOAK_DEFAULTS.batch}]
Writes bench/results/latest.json: [{ name, backend, median_ms, gflops, gbps, us_per_launch?, counters? }]
(counters of the gpu.js ct-step and sample rows: launches_per_step, submits_per_step, messages_per_step;
soak rows: median_ms per step, steps, batch, seconds, live_buffers_start/end/max, rss_mb_start/end/max,
growth per 1,000 steps, verdict, gc; PyTorch rows, backend torch-cpu: also samples, max_rss_mb, torch, threads, blas;
ct-step-simpleunet-d32-b32-peak-rss and, per UNet row, NAME-peak-rss rows: median_ms null, rss_mb, the peak
resident memory of a process running the row, ours (bench/step-rss.ts, bench/unet-rss.ts) and PyTorch's).`);
  process.exit(0);
}

async function runSoak(): Promise<void> {
  const positive = (flag: string, v: string): number => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--${flag} must be a positive integer, got '${v}'.`);
    return n;
  };
  const options = { ...SOAK_DEFAULTS, steps: positive('soak-steps', args['soak-steps']), batch: positive('soak-batch', args['soak-batch']) };
  const wanted = (args.backends ?? 'cpu,webgpu').split(',').map((b) => b.trim());
  const rows: SoakRow[] = [];
  for (const name of wanted) {
    const be = soakBackend(name, args.backends !== undefined);
    if (typeof be === 'string') {
      console.log(`soak ${name}: skipped: ${be}`);
      continue;
    }
    console.log(`soak ${name}: ${options.steps} steps, batch ${options.batch}${'adapter' in be && be.adapter ? ` (adapter ${(be.adapter as { description: string }).description})` : ''}`);
    rows.push(await soak(name, be, options));
  }
  console.log(`\n${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`);
  printSoak(rows);
  writeRows(rows, true);
}

/** Writes rows to latest.json; with `merge`, they replace the rows of the same name and backend, the others stay. */
function writeRows(rows: Row[], merge: boolean): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  let written = rows;
  if (merge && existsSync(file)) {
    const fresh = new Set(rows.map((r) => `${r.name}|${r.backend}`));
    written = [...(JSON.parse(readFileSync(file, 'utf8')) as Row[]).filter((r) => !fresh.has(`${r.name}|${r.backend}`)), ...rows];
  }
  writeFileSync(`${file}.tmp`, `${JSON.stringify(written, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  console.log(`wrote ${file}`);
}

async function main(): Promise<void> {
  const sampling = args.quick ? { minSamples: 3, maxTime: 1 } : { minSamples: 5, maxTime: 2 };
  const wanted = (args.backends ?? 'cpu,webgpu,webasm,gpujs-cpu').split(',').map((b) => b.trim());
  // gpu.js's CPU-side modes, and WebGPU on a software adapter, are ~100x slower: one timed sample.
  const slow = new Set(['webasm', 'gpujs-cpu']);
  const cases: BenchCase[] = wanted.includes('cpu') ? (args.quick ? engineQuickCases() : engineFullCases()) : [];
  if (wanted.includes('cpu') && (!args.quick || args.only)) cases.push(...unetCases());
  for (const mode of ['webgpu', 'webasm', 'gpujs-cpu'] as const) {
    if (!wanted.includes(mode)) continue;
    try {
      const be = gpujsBackend(mode);
      console.log(`${mode}: ${be.adapter ? `adapter ${be.adapter.description}` : 'started'}`);
      if (be.adapter?.software) slow.add(mode);
      cases.push(...gpujsCases(be as Backend, !args.quick));
      // beside TF.js-WebGPU's rows of the same names
      if (mode === 'webgpu') cases.push(launchChainCase('webgpu'), ctStepCase('webgpu'), sampleCase('webgpu'));
    } catch (e) {
      console.log(`${mode}: not benchmarked: ${(e as Error).message}`);
    }
  }
  if (!args['no-tfjs']) {
    console.log(`TensorFlow.js backend: ${await initTfjsWasm()}`);
    cases.push(...tfjsQuickCases());
    if (wanted.includes('webgpu')) {
      try {
        console.log(`TensorFlow.js backend: ${await initTfjsWebgpu()}`);
        if (tfjsWebgpuSoftware()) slow.add('tfjs-webgpu');
        cases.push(...tfjsWebgpuCases(), dawnFloorCase());
      } catch (e) {
        console.log(`TensorFlow.js webgpu: not benchmarked: ${(e as Error).message}`);
      }
    }
  }
  if (args.only) cases.splice(0, cases.length, ...cases.filter((c) => c.name.includes(args.only!)));
  const rows: Row[] = [];
  const slowSampling = { minSamples: 1, maxTime: 0.5 };
  for (const c of cases) {
    try {
      // a launch-bound row is cheap even on a software adapter: sample it fully
      rows.push(await measure(c, c.sampling ?? (slow.has(c.backend) && c.launches === undefined ? slowSampling : sampling)));
    } catch (e) {
      if (c.backend !== 'tfjs-webgpu' && c.backend !== 'dawn-raw') throw e;
      console.log(`${c.name} [${c.backend}]: not benchmarked: ${(e as Error).message}`);
    }
  }

  if (wanted.includes('cpu') && !args['no-torch']) rows.push(...torchRows(Boolean(args.quick), args.only));

  console.log(`\n${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`);
  console.table(rows.filter((r) => !r.name.endsWith('-peak-rss')).map((r) => ({
    name: r.name, backend: r.backend, 'median ms': r.median_ms.toFixed(2),
    'GFLOP/s': r.gflops?.toFixed(1) ?? '', 'GB/s': r.gbps?.toFixed(2) ?? '',
    'images/s': r.name.startsWith('sample-') ? (Number(/-b(\d+)$/.exec(r.name)![1]) / (r.median_ms / 1e3)).toFixed(r.median_ms > 1e3 ? 2 : 0) : '',
    'us/launch': r.us_per_launch?.toFixed(1) ?? '',
    'launches/submits/messages per call': r.counters ? `${r.counters.launches_per_step} / ${r.counters.submits_per_step} / ${r.counters.messages_per_step}` : '',
  })));
  const gpu = rows.filter((r) => r.backend === 'webgpu');
  if (gpu.length) {
    console.table(gpu.map((g) => {
      const cpu = rows.find((r) => r.backend === 'cpu' && r.name === g.name);
      return { name: g.name, 'webgpu ms': g.median_ms.toFixed(2), 'cpu ms': cpu?.median_ms.toFixed(2) ?? '', 'cpu / webgpu': cpu ? (cpu.median_ms / g.median_ms).toFixed(2) : '' };
    }));
  }
  const ratios = rows
    .filter((r) => r.backend === 'tfjs-wasm')
    .map((t) => [t, rows.find((r) => r.backend === 'cpu' && r.name === t.name)] as const)
    .filter(([, ours]) => ours)
    .map(([t, ours]) => ({ name: t.name, 'tfjs-wasm ms': t.median_ms.toFixed(1), 'onestep cpu ms': ours!.median_ms.toFixed(1), 'tfjs / onestep': (t.median_ms / ours!.median_ms).toFixed(2) }));
  if (ratios.length) console.table(ratios);
  const torch = rows.filter((r) => r.backend === 'torch-cpu');
  if (torch.length) {
    const blas = torch.map((t) => (t as TorchRow).blas).find(Boolean);
    console.log(`onestep cpu vs PyTorch ${torch.map((t) => (t as TorchRow).torch).find(Boolean) ?? ''} CPU${blas ? ` (${blas} BLAS)` : ''}, ${benchThreads()} threads each (ratio above 1: onestep is slower)`);
    console.table(torch.map((t) => {
      const ours = rows.find((r) => r.backend === 'cpu' && r.name === t.name);
      const [key, unit] = t.name.endsWith('-peak-rss') ? ['rss_mb', 'MB'] as const : ['median_ms', 'ms'] as const;
      const value = (r: Row | undefined) => (r as unknown as Record<string, number> | undefined)?.[key];
      return {
        name: t.name, [`onestep cpu ${unit}`]: value(ours)?.toFixed(1) ?? '', [`pytorch ${unit}`]: value(t)!.toFixed(1),
        'onestep / pytorch': ours ? (value(ours)! / value(t)!).toFixed(2) : '',
      };
    }));
  }
  const floor = rows.find((r) => r.backend === 'dawn-raw');
  if (floor) console.log(`raw Dawn on this adapter (one encoder, one submit, prebuilt bind groups): ${floor.us_per_launch!.toFixed(1)} us per launch`);
  const tfGpu = rows.filter((r) => r.backend === 'tfjs-webgpu');
  if (tfGpu.length) {
    console.log('webgpu: onestep vs TF.js-WebGPU');
    console.table(tfGpu.map((t) => {
      const ours = rows.find((r) => r.backend === 'webgpu' && r.name === t.name);
      return {
        name: t.name, 'tfjs-webgpu ms': t.median_ms.toFixed(2), 'onestep webgpu ms': ours?.median_ms.toFixed(2) ?? '',
        'tfjs / onestep': ours ? (t.median_ms / ours.median_ms).toFixed(2) : '',
        'tfjs us/launch': t.us_per_launch?.toFixed(1) ?? '', 'onestep us/launch': ours?.us_per_launch?.toFixed(1) ?? '',
      };
    }));
  }

  writeRows(rows, Boolean(args.only));
}

const PEAK_RSS_ROW = 'ct-step-simpleunet-d32-b32-peak-rss';

/**
 * PyTorch's rows (same names as the cpu rows they stand beside) and the peak RSS of a D=32 training
 * step in each (a fresh process apiece: warm-up and timed steps), or a note on how to get them.
 */
function torchRows(quick: boolean, only: string | undefined): Row[] {
  const specs: [number, 'ct-step' | 'sample'][] = [[32, 'ct-step'], [32, 'sample'], ...(quick ? [] : [[64, 'ct-step'], [64, 'sample']] as [number, 'ct-step' | 'sample'][])];
  const nameOf = (width: number, what: string) => `${what === 'ct-step' ? 'ct-step' : 'sample-1step'}-simpleunet-d${width}-b32`;
  const unetNames = !quick || only ? [IMAGENET9_STEP, ...IMAGENET64_BATCHES.map(imagenet64SampleName)].filter((n) => !only || n.includes(only)) : [];
  const simple = !only || specs.some(([w, what]) => nameOf(w, what).includes(only)) || PEAK_RSS_ROW.includes(only);
  if (!simple && !unetNames.length) return [];
  const found = findTorch();
  if (!found) {
    console.log(TORCH_MISSING);
    return [];
  }
  console.log(`PyTorch ${found.version} (${found.python}), ${benchThreads()} threads`);
  const out: Row[] = [];
  // a failing peer costs its rows, not the run's: onestep's rows are still written
  try {
    // the same network first: PyTorch's forward with onestep's weights gives onestep's output
    const same = (what: string, relative: number) => {
      if (!(relative < 1e-5)) throw new Error(`torch_peer.py's ${what} differs from onestep's: relative difference ${relative}`);
      console.log(`PyTorch ${what}: forward equals onestep's (relative difference ${relative.toExponential(1)})`);
    };
    if (simple) for (const width of quick ? [32] : [32, 64]) same(`SimpleUNet D=${width}`, checkTorchForward(found.python, width));
    if (unetNames.length) {
      same('UNet of the imagenet9 example', checkTorchUNetForward(found.python, imagenet9UNet(), 64));
      // the ImageNet-64 architecture at a third of its width (the same blocks, heads of 64 channels)
      same('official ImageNet-64 UNet at width 64', checkTorchUNetForward(found.python, imagenet64UNet(64), 64));
    }
    const seconds = quick ? 1 : 2;
    for (const [width, what] of simple ? specs : []) {
      if (!only || nameOf(width, what).includes(only)) out.push(torchRow(found.python, what, width, 32, seconds));
    }
    if (!only || PEAK_RSS_ROW.includes(only)) out.push(...peakRssRows(found.python, out, seconds));
    const unetRows: TorchRow[] = [];
    if (unetNames.includes(IMAGENET9_STEP)) unetRows.push(torchUNetRow(found.python, 'unet-train-step', IMAGENET9_STEP, torchUNetOf(imagenet9UNet(), 64), 8, UNET_SAMPLING));
    for (const batch of IMAGENET64_BATCHES) {
      const name = imagenet64SampleName(batch);
      if (unetNames.includes(name)) unetRows.push(torchUNetRow(found.python, 'unet-sample', name, torchUNetOf(imagenet64UNet(), 64), batch, UNET_SAMPLING));
    }
    out.push(...unetRows, ...unetRows.flatMap((t) => unetPeakRssRows(t)));
  } catch (e) {
    console.log(`PyTorch rows: not benchmarked: ${(e as Error).message}`);
    return [];
  }
  if (out.some((r) => (r as TorchRow).blas === 'reference')) console.log(REFERENCE_BLAS);
  return out;
}

/** The peak RSS of a process running a UNet row (bench/unet-rss.ts, the same calls as PyTorch's) and of PyTorch's process. */
function unetPeakRssRows(torchRow: TorchRow): Row[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'unet-rss.ts');
  const ours = spawnSync(process.execPath, ['--import', 'tsx', script, torchRow.name, String(UNET_SAMPLING.minSamples + 1)], { encoding: 'utf8' });
  if (ours.status !== 0) throw new Error(`bench/unet-rss.ts failed: ${ours.stderr}`);
  const rss = (backend: string, mb: number) => ({ name: `${torchRow.name}-peak-rss`, backend, median_ms: NaN, gflops: null, gbps: null, rss_mb: mb });
  return [rss('cpu', (JSON.parse(ours.stdout.trim().split('\n').at(-1)!) as { max_rss_mb: number }).max_rss_mb), rss('torch-cpu', torchRow.max_rss_mb)];
}

/** The peak RSS of a process running the D=32 step: onestep's (bench/step-rss.ts) and PyTorch's. */
function peakRssRows(python: string, timed: Row[], seconds: number): Row[] {
  const torchStep = timed.find((r) => r.name === 'ct-step-simpleunet-d32-b32') as TorchRow | undefined ?? torchRow(python, 'ct-step', 32, 32, seconds);
  const script = join(dirname(fileURLToPath(import.meta.url)), 'step-rss.ts');
  const ours = spawnSync(process.execPath, ['--import', 'tsx', script, '32', '32', String(2 + torchStep.samples)], { encoding: 'utf8' });
  if (ours.status !== 0) throw new Error(`bench/step-rss.ts failed: ${ours.stderr}`);
  const rss = (backend: string, mb: number) => ({ name: PEAK_RSS_ROW, backend, median_ms: NaN, gflops: null, gbps: null, rss_mb: mb });
  return [rss('cpu', (JSON.parse(ours.stdout.trim().split('\n').at(-1)!) as { max_rss_mb: number }).max_rss_mb), rss('torch-cpu', torchStep.max_rss_mb)];
}

await (args.soak ? runSoak() : main());
