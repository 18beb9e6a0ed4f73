// The PyTorch CPU peer in the same `npm run bench` run: bench/torch_peer.py times the same
// SimpleUNet step and sampling as bench/step-cases.ts, on as many threads as the cpu backend uses.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, noGrad, randn, saveSafetensors, SimpleUNet, tensor, withBackend } from '../src/index';
import type { Row } from './harness';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_peer.py');
// pyenv or a virtualenv may shadow Debian's python3-torch, which lives under /usr/bin/python3
const PYTHONS = ['python3', '/usr/bin/python3'];

export interface TorchRow extends Row {
  samples: number;
  /** Peak resident memory of the Python process that ran the case (warm-up and timing). */
  max_rss_mb: number;
  torch: string;
  threads: number;
}

/** The first Python that imports torch, with torch's version; null when none does. */
export function findTorch(): { python: string; version: string } | null {
  for (const python of PYTHONS) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
}

export const TORCH_MISSING = 'PyTorch rows skipped: no python3 here imports torch. Install the peer with `apt-get install python3-torch` (Debian) and run the bench again.';

/** The cpu backend's thread count (kernels/cpu/wasm/runtime.ts): ONESTEP_THREADS, else the cores. */
export const benchThreads = (): number => Number(process.env.ONESTEP_THREADS || availableParallelism());

/**
 * Runs onestep's SimpleUNet (D = width, seeded weights, time levels across the range) and the
 * script's PyTorch model with the same weights on the same input; returns the largest difference
 * of the outputs relative to their largest magnitude (float32: ~1e-6 expected).
 */
export function checkTorchForward(python: string, width: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'onestep-torch-'));
  const file = join(dir, 'check.safetensors');
  withBackend('cpu', () => {
    const model = new SimpleUNet({ channels: 1, width }, { generator: new Generator(5) });
    const x = randn([4, 1, 32, 32], { generator: new Generator(6) });
    const t = tensor([0.01, 0.5, 7, 80]);
    const y = noGrad(() => model.forward(x, t));
    saveSafetensors(file, { ...Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [`model.${k}`, v])), x, t, y });
  });
  const r = spawnSync(python, [SCRIPT, '--check', file], { encoding: 'utf8', timeout: 120_000 });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`torch_peer.py --check failed: ${r.stderr.trim().split('\n').at(-1)}`);
  const { max_abs_diff: diff, max_abs_y: scale } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { max_abs_diff: number; max_abs_y: number };
  return diff / scale;
}

/** One PyTorch row: `what` at this width and batch, timed by torch_peer.py. */
export function torchRow(python: string, what: 'ct-step' | 'sample', width: number, batch: number, seconds: number): TorchRow {
  const args = [SCRIPT, '--what', what, '--width', String(width), '--batch', String(batch), '--threads', String(benchThreads()), '--seconds', String(seconds)];
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`torch_peer.py ${args.slice(1).join(' ')} failed: ${r.stderr.trim().split('\n').at(-1)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Omit<TorchRow, 'backend' | 'gflops' | 'gbps'>;
  return { ...out, backend: 'torch-cpu', gflops: null, gbps: null };
}
