import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cm, Generator, noGrad, randn, SimpleUNet, tensor, withBackend, type data } from '../src/index';

// Class conditioning (docs/contracts.md, Models): label_emb.weight [K + 1, 2D] added to the time
// embedding, row K = "no label"; label dropout in training; labels through sampling and editing.

function labelledDataset(): data.ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 12 * 64 }, () => g.uniform() * 2 - 1);
  return { name: 'tiny-labelled', images, labels: Uint8Array.from({ length: 12 }, (_, i) => i % 3), classNames: ['a', 'b', 'c'], count: 12, channels: 1, height: 8, width: 8 };
}

describe('class-conditional SimpleUNet', () => {
  it('has label_emb.weight [K + 1, 2D]; labels change the output, none is row K', () => {
    const model = new SimpleUNet({ channels: 1, width: 32, numClasses: 10 }, { generator: new Generator(1) });
    expect(model.stateDict()['label_emb.weight']!.shape).toEqual([11, 64]);
    expect(new SimpleUNet({ channels: 1, width: 32 }).stateDict()['label_emb.weight']).toBeUndefined();
    const x = randn([2, 1, 8, 8], { generator: new Generator(2) }), t = tensor([1, 1]);
    const run = (labels?: number[]) => noGrad(() => Array.from(model.forward(x, t, labels).toArray()));
    const [a, b] = [run([3, 3]), run([3, 4])];
    expect(a.slice(0, 64)).toEqual(b.slice(0, 64));
    expect(a.slice(64)).not.toEqual(b.slice(64));
    expect(run()).toEqual(run([10, 10]));
    expect(() => run([1])).toThrow(/SimpleUNet: 1 labels for 2 images/);
  });
});

describe('class-conditional training', () => {
  const config = cm.trainConfig({ recipe: 'ict', batch: 4, steps: 4, lr: 1e-3, seed: 5, classConditional: true, labelDropout: 0.25 });

  it('drops labels at the chosen rate', () => {
    const t = new cm.Trainer({ ...config, labelDropout: 0.5 }, labelledDataset());
    const labels = t.batchLabels(Array.from({ length: 4000 }, (_, i) => i % 12))!;
    const dropped = labels.filter((k) => k === 3).length / labels.length;
    expect(dropped).toBeGreaterThan(0.45);
    expect(dropped).toBeLessThan(0.55);
    expect(labels.every((k, i) => k === 3 || k === i % 3)).toBe(true);
    expect(new cm.Trainer({ ...config, classConditional: false, labelDropout: undefined }, labelledDataset()).batchLabels([0, 1])).toBeUndefined();
    expect(() => new cm.Trainer({ ...config, classConditional: false }, labelledDataset())).toThrow(/labelDropout needs classConditional/);
  });

  it('trains, resumes exactly, exports num_classes and class_names, and samples by class', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-cc-'));
    const a = new cm.Trainer(config, labelledDataset());
    const losses = [a.trainStep().loss, a.trainStep().loss];
    a.save(join(dir, 'checkpoint.safetensors'));
    losses.push(a.trainStep().loss, a.trainStep().loss);
    const b = cm.Trainer.resume(join(dir, 'checkpoint.safetensors'), labelledDataset());
    expect([b.trainStep().loss, b.trainStep().loss]).toEqual(losses.slice(2));
    a.exportEma(join(dir, 'ema.safetensors'));
    const loaded = cm.loadConsistencyModel(join(dir, 'ema.safetensors'));
    expect([loaded.numClasses, loaded.classNames, loaded.metadata.num_classes]).toEqual([3, ['a', 'b', 'c'], '3']);
    const byClass = (labels?: number[]) => Array.from(cm.sample(loaded.f, { count: 2, shape: [1, 8, 8], generator: new Generator(1), labels }).toArray());
    expect(byClass([0, 0])).not.toEqual(byClass([1, 1]));
    expect(byClass()).toEqual(byClass([3, 3]));
    expect(() => new cm.Trainer(config, { ...labelledDataset(), labels: null })).toThrow(/classConditional needs labels, and the dataset tiny-labelled has none/);
  });

  it('samples and edits by class the same for every chunk size', () => {
    withBackend('cpu-reference', () => {
      const model = new SimpleUNet({ channels: 1, width: 32, numClasses: 3 }, { generator: new Generator(1) });
      const f = cm.simpleUNetConsistency(model, 'official', 250);
      const labels = [0, 1, 2, 3, 0];
      const draw = (batch: number) => Array.from(cm.sample(f, { count: 5, shape: [1, 8, 8], generator: new Generator(2), sigmas: [80, 5], labels, batch }).toArray());
      expect(draw(2)).toEqual(draw(5));
      const noisy = randn([5, 1, 8, 8], { generator: new Generator(3) });
      const denoised = (batch: number) => Array.from(cm.denoise(f, noisy, 0.5, batch, labels).toArray());
      expect(denoised(3)).toEqual(denoised(5));
      expect(() => cm.sample(f, { count: 5, shape: [1, 8, 8], generator: new Generator(2), labels: [1] })).toThrow(/labels: 1 labels for 5 images/);
    });
  });
});

describe('class-conditional teachers and interpolation', () => {
  it('a conditional EDM teacher samples by class through loadImageSource, the same for every chunk size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-cc-'));
    const t = new cm.Trainer(cm.trainConfig({ recipe: 'edm', batch: 4, steps: 1, classConditional: true }), labelledDataset());
    t.trainStep();
    t.exportEma(join(dir, 'teacher.safetensors'));
    const source = cm.loadImageSource(join(dir, 'teacher.safetensors'), { steps: 2 });
    expect([source.kind, source.numClasses, source.classNames]).toEqual(['teacher', 3, ['a', 'b', 'c']]);
    const draw = (batch: number, labels?: number[]) => Array.from(source.draw(3, new Generator(4), batch, labels).toArray());
    expect(draw(1, [0, 1, 2])).toEqual(draw(3, [0, 1, 2]));
    expect(draw(3, [0, 1, 2])).not.toEqual(draw(3, [1, 1, 1]));
    expect(() => draw(3, [0, 1, 3])).toThrow(/class 3 is not one of .*classes 0\.\.2/);
  });

  it('interpolation gives each point its pair\'s label, whatever the chunk size', () => {
    withBackend('cpu-reference', () => {
      const model = new SimpleUNet({ channels: 1, width: 32, numClasses: 3 }, { generator: new Generator(1) });
      const f = cm.simpleUNetConsistency(model, 'official', 250);
      const z1 = randn([2, 1, 8, 8], { generator: new Generator(2) }), z2 = randn([2, 1, 8, 8], { generator: new Generator(3) });
      const run = (batch: number, labels?: number[]) => Array.from(cm.interpolateLatents(f, z1, z2, [0, 0.5, 1], batch, labels).toArray());
      expect(run(2, [0, 2])).toEqual(run(6, [0, 2]));
      // the first pair's points with label 0 equal a run where both pairs have label 0
      expect(run(6, [0, 2]).slice(0, 3 * 64)).toEqual(run(6, [0, 0]).slice(0, 3 * 64));
      expect(run(6, [0, 2]).slice(3 * 64)).not.toEqual(run(6, [0, 0]).slice(3 * 64));
    });
  });
});
