// The PyTorch CPU peer in the same `npm run bench` run: bench/torch_peer.py times the same
// SimpleUNet step and sampling as bench/step-cases.ts, on as many threads as the cpu backend uses.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, nn, noGrad, randn, saveSafetensors, SimpleUNet, tensor, withBackend } from '../src/index';
import type { UNetConfig } from '../src/nn/unet';
import type { Row, SampleOptions } from './harness';
import { torchUNetOf, type TorchUNet } from './unet-cases';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_peer.py');
// pyenv or a virtualenv may shadow Debian's python3-torch, which lives under /usr/bin/python3
const PYTHONS = ['python3', '/usr/bin/python3'];

export interface TorchRow extends Row {
  samples: number;
  /** Peak resident memory of the Python process that ran the case (warm-up and timing). */
  max_rss_mb: number;
  torch: string;
  threads: number;
  /** The BLAS behind torch's matmuls: openblas, reference (slow), ... */
  blas: string;
}

/** The first Python that imports torch, with torch's version; null when none does. */
export function findTorch(): { python: string; version: string } | null {
  for (const python of PYTHONS) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
}

export const TORCH_MISSING = 'PyTorch rows skipped: no python3 here imports torch. Install the peer with `apt-get install python3-torch libopenblas0-pthread` (Debian) and run the bench again.';

/** Said when the peer's matmuls run on the reference BLAS: its attention rows would be several times too slow to be a fair peer. */
export const REFERENCE_BLAS = 'PyTorch calls the reference BLAS here (Debian\'s libblas3): its matmuls (attention, linear layers) are several times slower than with an optimised one. Install `libopenblas0-pthread` (Debian) for a fair peer.';

/** torch_peer.py's environment: OpenBLAS on as many threads as torch's own pool. */
const peerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, OPENBLAS_NUM_THREADS: String(benchThreads()), OMP_NUM_THREADS: String(benchThreads()) });

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
  try {
    return runCheck(python, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs torch_peer.py --check on FILE; the largest difference relative to the largest output. */
function runCheck(python: string, file: string): number {
  const r = spawnSync(python, [SCRIPT, '--check', file], { encoding: 'utf8', timeout: 300_000, env: peerEnv() });
  if (r.status !== 0) throw new Error(`torch_peer.py --check failed: ${r.stderr.trim().split('\n').at(-1)}`);
  const { max_abs_diff: diff, max_abs_y: scale } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { max_abs_diff: number; max_abs_y: number };
  return diff / scale;
}

/**
 * Every weight of `model` random, as reference_unet.randomize_ draws them: the zero-initialised
 * output convolutions too (else two implementations agree trivially), at scales that keep
 * activations O(1): GroupNorm scales 1 + N(0, 0.1^2), other 1-d parameters N(0, 0.05^2),
 * embeddings N(0, 1), weights N(0, 0.5^2 / fan_in).
 */
export function randomiseForComparison(model: nn.Module, seed: number): void {
  const g = new Generator(seed);
  for (const [name, p] of model.namedParameters()) {
    const noise = randn([...p.shape], { generator: g });
    const value = name.includes('label_emb') ? noise
      : p.ndim === 1 ? (name.endsWith('weight') ? noise.mul(0.1).add(1) : noise.mul(0.05))
      : noise.mul(0.5 / Math.sqrt(p.size / p.shape[0]!));
    p.assign(value.raw);
  }
}

/**
 * As checkTorchForward, for our UNet of `config` at `imageSize` and torch_peer.py's (our PyTorch
 * UNetModel built from the same create_model arguments): every weight random (the zero-initialised
 * output convolutions too, or the outputs would agree trivially) at scales that keep activations
 * O(1), as reference_unet.randomize_ draws them; the network's raw output F(x, t, labels).
 */
export function checkTorchUNetForward(python: string, config: UNetConfig, imageSize: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'onestep-torch-'));
  const file = join(dir, 'check.safetensors');
  const torchUNet = torchUNetOf(config, imageSize);
  withBackend('cpu', () => {
    const model = new nn.UNet(config, { toBeLoaded: true }).eval();
    randomiseForComparison(model, 5);
    const batch = 2;
    const x = randn([batch, config.channels, imageSize, imageSize], { generator: new Generator(6) });
    const t = tensor([-300, 900]);
    const labels = config.numClasses === undefined ? undefined : [0, torchUNet.labelRows! - 1];
    const y = noGrad(() => model.forward(x, t, labels));
    saveSafetensors(file, {
      ...Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [`model.${k}`, v])), x, t, y,
      ...(labels ? { labels: tensor(labels) } : {}),
    }, { official_args: JSON.stringify(torchUNet.officialArgs) });
  });
  try {
    return runCheck(python, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One PyTorch UNet row (torch_peer.py --what unet-train-step|unet-sample), named `name`. */
export function torchUNetRow(python: string, what: 'unet-train-step' | 'unet-sample', name: string, unet: TorchUNet, batch: number, sampling: SampleOptions): TorchRow {
  const args = [
    SCRIPT, '--what', what, '--name', name, '--official-args', JSON.stringify(unet.officialArgs), ...(unet.labelRows ? ['--label-rows', String(unet.labelRows)] : []),
    '--image-size', String(unet.imageSize), '--batch', String(batch), '--threads', String(benchThreads()),
    '--min-samples', String(sampling.minSamples), '--seconds', String(sampling.maxTime), '--warm-up', '1',
  ];
  return parseRow(spawnSync(python, args, { encoding: 'utf8', timeout: 1_800_000, env: peerEnv() }), args);
}

function parseRow(r: ReturnType<typeof spawnSync>, args: string[]): TorchRow {
  if (r.status !== 0) throw new Error(`torch_peer.py ${args.slice(1).join(' ')} failed: ${String(r.stderr).trim().split('\n').at(-1)}`);
  const out = JSON.parse(String(r.stdout).trim().split('\n').at(-1)!) as Omit<TorchRow, 'backend' | 'gflops' | 'gbps'>;
  return { ...out, backend: 'torch-cpu', gflops: null, gbps: null };
}

/** One PyTorch row: `what` at this width and batch, timed by torch_peer.py. */
export function torchRow(python: string, what: 'ct-step' | 'sample', width: number, batch: number, seconds: number): TorchRow {
  const args = [SCRIPT, '--what', what, '--width', String(width), '--batch', String(batch), '--threads', String(benchThreads()), '--seconds', String(seconds)];
  return parseRow(spawnSync(python, args, { encoding: 'utf8', timeout: 600_000, env: peerEnv() }), args);
}
