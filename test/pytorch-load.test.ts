import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, noGrad, randn, saveSafetensors, tensor, type Tensor } from '../src/index';
import { SimpleUNet } from '../src/nn/simple-unet';
import { UNet } from '../src/nn/unet';
import { networkSpecOf, specMetadata, type Network } from '../src/cm/network';
import { loadConsistencyModel, loadTeacher } from '../src/cm/load-file';
import { findTorch } from '../bench/torch-peer';

// Our files in PyTorch (examples/pytorch/onestep_torch.py, docs/contracts.md): the network and the
// meaning of its weights come from the file alone, and PyTorch's f (or a teacher's D) equals ours.
// Runs where a python3 here imports torch (CI installs Debian's python3-torch); elsewhere the
// tests are skipped and say why.

const LOADER = 'examples/pytorch/onestep_torch.py';
const torch = findTorch();
if (!torch) console.log('test/pytorch-load.test.ts skipped: no python3 here imports torch (apt-get install python3-torch).');
const dir = mkdtempSync(join(tmpdir(), 'onestep-pytorch-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every weight random at scales that keep activations O(1) (the zero-initialised convolutions too). */
function randomise(model: Network, seed: number): void {
  const g = new Generator(seed);
  for (const [name, p] of model.namedParameters()) {
    const noise = randn([...p.shape], { generator: g });
    const value = name.includes('label_emb') ? noise : p.ndim === 1 ? noise.mul(0.05) : noise.mul(0.5 / Math.sqrt(p.size / p.shape[0]!));
    p.assign(value.raw);
  }
}

/** PyTorch's output for ours saved beside the model file: the largest difference relative to the largest output. */
function torchDifference(file: string, x: Tensor, sigma: Tensor, out: Tensor, labels?: number[]): number {
  const io = join(dir, `${file.split('/').at(-1)}.io.safetensors`);
  saveSafetensors(io, { x, sigma, out, ...(labels ? { labels: tensor(labels) } : {}) });
  const r = spawnSync(torch!.python, [LOADER, file, '--check', io], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${LOADER} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { relative_difference: number }).relative_difference;
}

const sigmas = tensor([80, 5, 0.5, 0.01]);

describe.skipIf(!torch)('onestep files in PyTorch (examples/pytorch/onestep_torch.py)', () => {
  it('the committed consistency model (SimpleUNet, community parametrization): f to 1e-5', () => {
    const file = 'examples/checkpoints/mnist-simpleunet-d32.safetensors';
    const { f, shape } = loadConsistencyModel(file);
    const x = randn([4, ...shape], { generator: new Generator(1) }).mul(tensor([80, 5, 0.5, 0.01]).reshape([4, 1, 1, 1]));
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('a class-conditional EDM teacher (SimpleUNet, parametrization edm): D to 1e-5, with labels and with the "no label" row', () => {
    const model = new SimpleUNet({ channels: 1, width: 32, numClasses: 3 }, { generator: new Generator(2) });
    randomise(model, 3);
    const file = join(dir, 'teacher-cond.safetensors');
    saveSafetensors(file, model.stateDict(), { ...specMetadata(networkSpecOf(model)), height: '16', parametrization: 'edm', c_noise_scale: '250' });
    const { denoiser } = loadTeacher(file);
    const x = randn([4, 1, 16, 16], { generator: new Generator(4) });
    expect(torchDifference(file, x, sigmas, noGrad(() => denoiser(x, sigmas, [0, 1, 2, 1])), [0, 1, 2, 1])).toBeLessThan(1e-5);
    expect(torchDifference(file, x, sigmas, noGrad(() => denoiser(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('a class-conditional UNet consistency model (official parametrization, 2 heads, resblock_updown): f to 1e-5', () => {
    const model = new UNet({ channels: 3, modelChannels: 32, channelMult: [1, 2], numHeadChannels: 16, resblockUpdown: true, numClasses: 3 });
    randomise(model, 5);
    const file = join(dir, 'unet-cond.safetensors');
    saveSafetensors(file, model.stateDict(), { ...specMetadata(networkSpecOf(model)), height: '16', parametrization: 'official', c_noise_scale: '250' });
    const { f } = loadConsistencyModel(file);
    const x = randn([4, 3, 16, 16], { generator: new Generator(6) });
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas, [2, 0, 1, 2])), [2, 0, 1, 2])).toBeLessThan(1e-5);
  }, 60_000);
});
