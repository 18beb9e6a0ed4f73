import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Trainer, type TrainConfig } from '../src/cm/trainer';
import type { ImageDataset } from '../src/data/dataset';
import { Generator, loadSafetensors, saveSafetensors, tensor } from '../src/index';

function tinyDataset(): ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 12 * 64 }, () => g.uniform() * 2 - 1);
  return { name: 'tiny', images, labels: null, count: 12, channels: 1, height: 8, width: 8 };
}

for (const recipe of ['ict', 'seed'] as const) {
  describe(`Trainer (${recipe})`, () => {
    const config: TrainConfig = { recipe, width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11, emaRate: 0.9, cNoiseScale: 250 };

    it('resumed from a checkpoint, follows the same loss curve and weights as an uninterrupted run', () => {
      const dir = mkdtempSync(join(tmpdir(), 'onestep-resume-'));
      const straight = new Trainer(config, tinyDataset());
      const expected = Array.from({ length: 5 }, () => straight.trainStep().loss);

      const first = new Trainer(config, tinyDataset());
      const losses = [first.trainStep().loss, first.trainStep().loss];
      first.save(join(dir, 'checkpoint.safetensors'));
      const resumed = Trainer.resume(join(dir, 'checkpoint.safetensors'), tinyDataset());
      expect(resumed.step).toBe(2);
      for (let i = 0; i < 3; i++) losses.push(resumed.trainStep().loss);

      expect(losses).toEqual(expected);
      const a = straight.ema.stateDict(), b = resumed.ema.stateDict();
      for (const name of Object.keys(a)) expect(Array.from(b[name]!.toArray())).toEqual(Array.from(a[name]!.toArray()));
      expect(readdirSync(dir)).toEqual(['checkpoint.safetensors']);
    });
  });
}

describe('Trainer checkpoints', () => {
  it('exports the EMA weights under the plain state-dict names, and refuses such a file for resuming', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-export-'));
    const t = new Trainer({ recipe: 'ict', width: 32, batch: 4, steps: 3, lr: 1e-3, seed: 1, emaRate: 0.9, cNoiseScale: 250 }, tinyDataset());
    t.trainStep();
    t.exportEma(join(dir, 'ema.safetensors'));
    const { tensors, metadata } = loadSafetensors(join(dir, 'ema.safetensors'));
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(t.ema.stateDict()).sort());
    expect(metadata).toMatchObject({ model: 'SimpleUNet', width: '32', channels: '1', parametrization: 'official', c_noise_scale: '250' });
    expect(() => Trainer.resume(join(dir, 'ema.safetensors'), tinyDataset())).toThrow(/is not a training checkpoint/);
    saveSafetensors(join(dir, 'other.safetensors'), { x: tensor([1]) });
    expect(() => Trainer.resume(join(dir, 'other.safetensors'), tinyDataset())).toThrow(/format 'none'/);
  });
});
