import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cm, Generator, loadTorchStateDict, noGrad, randn, saveSafetensors, tensor, type Tensor } from '../src/index';
import { SimpleUNet } from '../src/nn/simple-unet';
import { DEFAULT_UNET_CONFIG, UNet } from '../src/nn/unet';
import { networkSpecOf, specMetadata } from '../src/cm/network';
import { loadConsistencyModel, loadTeacher } from '../src/cm/load-file';
import type { ImageDataset } from '../src/data/dataset';
import { findTorch, randomiseForComparison } from '../bench/torch-peer';

// Our files in PyTorch (examples/pytorch/onestep_torch.py, docs/contracts.md): the network and the
// meaning of its weights come from the file alone, and PyTorch's f (or a teacher's D) equals ours.
// Runs where a python3 here imports torch (CI installs Debian's python3-torch); elsewhere the
// tests are skipped and say why.

const LOADER = 'examples/pytorch/onestep_torch.py';
const torch = findTorch();
if (!torch) console.log('test/pytorch-load.test.ts skipped: no python3 here imports torch (apt-get install python3-torch).');
const dir = mkdtempSync(join(tmpdir(), 'onestep-pytorch-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
  it('a SimpleUNet of the community parametrization (the seed recipe\'s): f to 1e-5', () => {
    const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(10) });
    randomiseForComparison(model, 11);
    const file = join(dir, 'community.safetensors');
    saveSafetensors(file, model.stateDict(), { ...specMetadata(networkSpecOf(model)), height: '16', parametrization: 'community' });
    const { f } = loadConsistencyModel(file);
    const x = randn([4, 1, 16, 16], { generator: new Generator(12) });
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('the committed consistency model (SimpleUNet, official parametrization): f to 1e-5', () => {
    const file = 'examples/checkpoints/mnist-simpleunet-d32.safetensors';
    const { f, shape } = loadConsistencyModel(file);
    const x = randn([4, ...shape], { generator: new Generator(1) }).mul(tensor([80, 5, 0.5, 0.01]).reshape([4, 1, 1, 1]));
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('the committed teachers (parametrization edm; class-conditional ones, the weaker guides) and the guided class-conditional model: to 1e-5', () => {
    const x = randn([4, 1, 32, 32], { generator: new Generator(3) }).mul(tensor([80, 5, 0.5, 0.01]).reshape([4, 1, 1, 1]));
    const labels = [3, 7, 10, 0];
    for (const file of ['examples/checkpoints/mnist-edm-d32.safetensors', 'examples/checkpoints/mnist-edm-d32-cond.safetensors', 'examples/checkpoints/mnist-edm-d32-guide.safetensors', 'examples/checkpoints/mnist-edm-d32-cond-guide.safetensors']) {
      const { denoiser, classNames } = loadTeacher(file);
      const given = classNames ? labels : undefined;
      expect(torchDifference(file, x, sigmas, noGrad(() => denoiser(x, sigmas, given)), given), file).toBeLessThan(1e-5);
    }
    const file = 'examples/checkpoints/mnist-simpleunet-d32-cond.safetensors';
    const { f } = loadConsistencyModel(file);
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas, labels)), labels)).toBeLessThan(1e-5);
  }, 120_000);

  it('a training checkpoint (its ema.* copy, official parametrization): f to 1e-5', () => {
    const images = randn([8, 1, 16, 16], { generator: new Generator(7) }).clamp(-1, 1).toArray() as Float32Array;
    const dataset: ImageDataset = { name: 'random-16', images, labels: null, count: 8, channels: 1, height: 16, width: 16 };
    const run = new cm.Trainer(cm.trainConfig({ recipe: 'ict', batch: 4, steps: 10, emaRate: 0.5 }), dataset);
    for (let i = 0; i < 3; i++) run.trainStep();
    const file = join(dir, 'checkpoint.safetensors');
    run.save(file);
    const { f } = loadConsistencyModel(file);
    const x = randn([4, 1, 16, 16], { generator: new Generator(8) });
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('a class-conditional EDM teacher (SimpleUNet, parametrization edm): D to 1e-5, with labels and with the "no label" row', () => {
    const model = new SimpleUNet({ channels: 1, width: 32, numClasses: 3 }, { generator: new Generator(2) });
    randomiseForComparison(model, 3);
    const file = join(dir, 'teacher-cond.safetensors');
    saveSafetensors(file, model.stateDict(), { ...specMetadata(networkSpecOf(model)), height: '16', parametrization: 'edm', c_noise_scale: '250' });
    const { denoiser } = loadTeacher(file);
    const x = randn([4, 1, 16, 16], { generator: new Generator(4) });
    expect(torchDifference(file, x, sigmas, noGrad(() => denoiser(x, sigmas, [0, 1, 2, 1])), [0, 1, 2, 1])).toBeLessThan(1e-5);
    expect(torchDifference(file, x, sigmas, noGrad(() => denoiser(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('a class-conditional UNet consistency model (official parametrization, 2 heads, resblock_updown): f to 1e-5, with labels and with the "no label" row', () => {
    const model = new UNet({ channels: 3, modelChannels: 32, channelMult: [1, 2], numHeadChannels: 16, resblockUpdown: true, numClasses: 3 });
    randomiseForComparison(model, 5);
    const file = join(dir, 'unet-cond.safetensors');
    saveSafetensors(file, model.stateDict(), { ...specMetadata(networkSpecOf(model)), height: '16', parametrization: 'official', c_noise_scale: '250' });
    const { f } = loadConsistencyModel(file);
    const x = randn([4, 3, 16, 16], { generator: new Generator(6) });
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas, [2, 0, 1, 2])), [2, 0, 1, 2])).toBeLessThan(1e-5);
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas)))).toBeLessThan(1e-5);
  }, 60_000);

  it('an official checkpoint after convert (1000 classes, no "no label" row): f to 1e-5', () => {
    const args = cm.officialArgs(JSON.parse(readFileSync('test/fixtures/official-unet/e.args.json', 'utf8')), 'e.args.json');
    const converted = cm.convertOfficial(loadTorchStateDict('test/fixtures/official-unet/e.pt'), args, 'consistency', 'e.pt');
    const file = join(dir, 'e.safetensors');
    saveSafetensors(file, converted.tensors, converted.metadata);
    const { f, shape } = loadConsistencyModel(file);
    const x = randn([4, ...shape], { generator: new Generator(9) });
    expect(torchDifference(file, x, sigmas, noGrad(() => f(x, sigmas, [0, 999, 5, 17])), [0, 999, 5, 17])).toBeLessThan(1e-5);
  }, 60_000);

  it("the loader's UNet defaults are DEFAULT_UNET_CONFIG's (a file's unet metadata holds only the settings that differ)", () => {
    const r = spawnSync(torch!.python, ['-c', 'import json, sys; sys.path.insert(0, "examples/pytorch"); import onestep_torch; print(json.dumps(onestep_torch.UNET_DEFAULTS))'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { channels: _c, modelChannels: _m, numClasses: _k, ...defaults } = DEFAULT_UNET_CONFIG;
    expect(JSON.parse(r.stdout)).toEqual(defaults);
  });
});
