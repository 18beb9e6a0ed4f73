// npm run bench -- --soak: a long consistency-training run per backend, watching for leaks. The
// live buffers of the backend (Backend.memoryStats: handed out and neither disposed nor reclaimed
// by the garbage collector) and the process's RSS are taken after a warm-up, every 100 steps and
// at the end; both should stay flat. The run does what `npm run mnist -- train` does around its
// steps, periodically: a checkpoint (Trainer.save), 1- and 2-step samples from the EMA copy written
// as PNG grids (16 images each, fewer than the CLI's 64, and left to the garbage collector rather
// than disposed: the harder case for the live-buffer count).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cm, getBackend, gpujsBackend, saveImageGrid, withBackend, type Backend } from '../src/index';
import type { ImageDataset } from '../src/data/dataset';
import type { Row } from './harness';

export interface SoakOptions {
  steps: number;
  batch: number;
  /** Checkpoint work (save, samples) every this many steps. */
  checkpointEvery: number;
}

export interface SoakRow extends Row {
  steps: number;
  batch: number;
  /** Wall time of the whole run: steps, checkpoint work and measurements. */
  seconds: number;
  /** The step after which the start values were taken. */
  warmup_step: number;
  live_buffers_start: number;
  live_buffers_end: number;
  live_buffers_max: number;
  rss_mb_start: number;
  rss_mb_end: number;
  rss_mb_max: number;
  heap_mb_start: number;
  heap_mb_end: number;
  /** Per 1,000 steps, from start to end. */
  live_buffers_growth_per_1k: number;
  rss_mb_growth_per_1k: number;
  verdict: 'flat' | 'growing';
  /** How the measurements were preceded by a forced garbage collection, or null when they were not. */
  gc: string | null;
  config: string;
  /** Every measurement: [step, live buffers, RSS MB]. */
  trace: [number, number, number][];
}

export const SOAK_DEFAULTS = { steps: 2000, batch: 4, checkpointEvery: 250 };
const WIDTH = 32, SIZE = 32, IMAGES = 512, MEASURE_EVERY = 100;
/** RSS growth below this (MB per 1,000 steps) counts as flat: allocator and JIT noise. */
const RSS_FLAT_MB_PER_1K = 16;
/** ... and so does any change below this many MB (a short run). */
const RSS_NOISE_MB = 16;

/**
 * A full garbage collection before each measurement, so that buffers dropped without dispose (the
 * CLI's sample grids) are counted only while reachable: global.gc under node --expose-gc, else
 * the flag set at run time, as jest-leak-detector does (undefined when even that fails).
 */
const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc ?? (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();
const gcHow = (globalThis as { gc?: () => void }).gc ? 'node --expose-gc' : gc ? "v8.setFlagsFromString('--expose-gc') at run time" : null;
const tick = (): Promise<void> => new Promise((done) => setTimeout(done, 0));

/** Smooth random stripes and blobs in [-1, 1]: leak behaviour does not depend on the images. */
function syntheticDataset(): ImageDataset {
  const per = SIZE * SIZE, images = new Float32Array(IMAGES * per);
  let s = 12345;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < IMAGES; i++) {
    const a = 0.1 + rnd() * 0.5, b = 0.1 + rnd() * 0.5, c = rnd() * 6.28, cx = rnd() * SIZE, cy = rnd() * SIZE;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const blob = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 40);
        images[i * per + y * SIZE + x] = Math.max(-1, Math.min(1, 0.6 * Math.sin(a * x + b * y + c) + blob - 0.2));
      }
    }
  }
  return { name: 'synthetic-32', images, labels: null, count: IMAGES, channels: 1, height: SIZE, width: SIZE };
}

interface Snapshot {
  step: number;
  live: number;
  rss: number;
  heap: number;
}

async function snapshot(be: Backend, step: number): Promise<Snapshot> {
  if (gc) {
    // finalisation callbacks (the count of collected buffers; gpu.js frees) run in a later task
    for (let i = 0; i < 2; i++) {
      gc();
      await tick();
    }
  } else await tick();
  const live = be.memoryStats?.().liveBuffers ?? NaN;
  const { rss, heapUsed } = process.memoryUsage();
  return { step, live, rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20 };
}

/** The backend to soak, or the reason it is skipped. */
export function soakBackend(name: string, explicit: boolean): Backend | string {
  if (name === 'cpu' || name === 'cpu-reference') return withBackend(name, getBackend);
  if (name !== 'webgpu' && name !== 'webasm' && name !== 'gpujs-cpu') return `unknown backend '${name}'`;
  try {
    const be = gpujsBackend(name);
    // the default list soaks webgpu on a GPU only: on Mesa's software adapter 2,000 steps take hours
    if (be.adapter?.software && !explicit) return `only a software adapter (${be.adapter.description}); name it in --backends to soak it anyway`;
    return be as Backend;
  } catch (e) {
    return (e as Error).message;
  }
}

export async function soak(name: string, be: Backend, o: SoakOptions): Promise<SoakRow> {
  const on = <T>(fn: () => T): T => withBackend(be, fn);
  const config: cm.TrainConfig = {
    recipe: 'ict', width: WIDTH, batch: o.batch, steps: o.steps, lr: 6e-4, lrDecay: 'cosine', seed: 0,
    emaRate: 0.995, cNoiseScale: cm.DEFAULT_C_NOISE_SCALE, maxIntervals: 80,
  };
  const trainer = on(() => new cm.Trainer(config, syntheticDataset()));
  const dir = mkdtempSync(join(tmpdir(), 'onestep-soak-'));
  // a short run (--soak-steps below 150) warms up over its first third and checkpoints every third
  const warmup = Math.min(50, Math.max(1, Math.floor(o.steps / 3)));
  const every = Math.min(o.checkpointEvery, Math.max(1, Math.floor(o.steps / 3)));
  const checkpoint = (): void => on(() => {
    trainer.save(join(dir, 'checkpoint.safetensors'));
    saveImageGrid(join(dir, 'samples-1step.png'), trainer.sample(16, 0), 4);
    const twoStep = trainer.sample(16, 0, { sigmas: [80, 0.8] });
    saveImageGrid(join(dir, 'samples-2step.png'), twoStep, 4);
  });
  const points: Snapshot[] = [];
  const stepMs: number[] = [];
  const started = performance.now();
  let lastLog = started;
  try {
    while (trainer.step < o.steps) {
      await new Promise((done) => setImmediate(done));
      const t0 = performance.now();
      const { loss } = on(() => trainer.trainStep());
      const t1 = performance.now();
      if (trainer.step > warmup) stepMs.push(t1 - t0);
      if (!Number.isFinite(loss)) throw new Error(`soak ${name}: the loss became ${loss} at step ${trainer.step}`);
      const step = trainer.step;
      // the warm-up ends with one round of checkpoint work too: its buffers and pages are in use before the start values
      const atCheckpoint = step % every === 0 || step === o.steps || step === warmup;
      if (atCheckpoint) checkpoint();
      if (step === warmup || step === o.steps || (step > warmup && (step % MEASURE_EVERY === 0 || atCheckpoint))) {
        points.push(await snapshot(be, step));
      }
      if (t1 - lastLog > 30_000) {
        lastLog = t1;
        const p = points[points.length - 1];
        console.log(`soak ${name}: step ${step}/${o.steps}, ${((t1 - started) / 1e3).toFixed(0)} s${p ? `, at step ${p.step}: ${p.live} live buffers, RSS ${p.rss.toFixed(0)} MB` : ''}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1e3;
  const first = points[0]!, last = points[points.length - 1]!;
  const span = Math.max(1, last.step - first.step);
  const per1k = (a: number, b: number): number => ((b - a) * 1000) / span;
  const liveGrowth = per1k(first.live, last.live), rssGrowth = per1k(first.rss, last.rss);
  const sorted = [...stepMs].sort((a, b) => a - b);
  return {
    name: `soak-simpleunet-d${WIDTH}-${name}`,
    backend: name,
    median_ms: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    gflops: null,
    gbps: null,
    steps: o.steps,
    batch: o.batch,
    seconds,
    warmup_step: first.step,
    live_buffers_start: first.live,
    live_buffers_end: last.live,
    live_buffers_max: Math.max(...points.map((p) => p.live)),
    rss_mb_start: first.rss,
    rss_mb_end: last.rss,
    rss_mb_max: Math.max(...points.map((p) => p.rss)),
    heap_mb_start: first.heap,
    heap_mb_end: last.heap,
    live_buffers_growth_per_1k: liveGrowth,
    rss_mb_growth_per_1k: rssGrowth,
    verdict: last.live > first.live || last.rss - first.rss > Math.max(RSS_NOISE_MB, (RSS_FLAT_MB_PER_1K * span) / 1000) ? 'growing' : 'flat',
    gc: gcHow,
    config:
      `SimpleUNet D=${WIDTH}, recipe ict (lr 6e-4 cosine, EMA 0.995, max 40 intervals), batch ${o.batch} of 1x${SIZE}x${SIZE} synthetic images; ` +
      `after step ${warmup} and every ${every} steps: Trainer.save + 16 1-step and 16 2-step samples to PNG`,
    trace: points.map((p) => [p.step, p.live, Math.round(p.rss * 10) / 10]),
  };
}

/** The console report: a table, then one verdict line per backend. */
export function printSoak(rows: SoakRow[]): void {
  console.table(rows.map((r) => ({
    backend: r.backend, steps: r.steps, batch: r.batch, 'ms/step': r.median_ms.toFixed(0), 'total s': r.seconds.toFixed(0),
    'live start': r.live_buffers_start, 'live end': r.live_buffers_end, 'live max': r.live_buffers_max,
    'RSS MB start': r.rss_mb_start.toFixed(0), 'RSS MB end': r.rss_mb_end.toFixed(0), 'RSS MB max': r.rss_mb_max.toFixed(0),
  })));
  for (const r of rows) {
    const span = r.steps - r.warmup_step;
    console.log(
      `${r.backend}: ${r.verdict.toUpperCase()}: live buffers ${r.live_buffers_start} -> ${r.live_buffers_end} ` +
        `(${r.live_buffers_growth_per_1k >= 0 ? '+' : ''}${r.live_buffers_growth_per_1k.toFixed(1)} per 1,000 steps), ` +
        `RSS ${r.rss_mb_start.toFixed(0)} -> ${r.rss_mb_end.toFixed(0)} MB (${r.rss_mb_growth_per_1k >= 0 ? '+' : ''}${r.rss_mb_growth_per_1k.toFixed(1)} MB per 1,000 steps) ` +
        `over steps ${r.warmup_step}-${r.steps}${span < 1000 ? ' (a short run: the growth rates are indicative only)' : ''}`,
    );
  }
  console.log(gcHow
    ? `measured after a forced garbage collection (${gcHow})`
    : 'measured without forcing a garbage collection (none available): counts include buffers awaiting the collector');
}
