import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { cm, ConfigError, data, FileAccessError, FormatError, Generator, metrics, loadSafetensors, randn, readSafetensorsMetadata, SimpleUNet } from '../src/index';

// The pieces the CLI calls, each on its own: what `npm run mnist` computes lives in the library.

const MODEL = 'examples/checkpoints/mnist-simpleunet-d32.safetensors';

describe('cm.trainConfig', () => {
  it('fills in each recipe\'s defaults and keeps what is given', () => {
    expect(cm.trainConfig({ recipe: 'ict' })).toMatchObject({ steps: 2400, lr: 1e-3, lrDecay: 'cosine', batch: 32, width: 32, emaRate: 0.995, maxIntervals: 80 });
    expect(cm.trainConfig({ recipe: 'ect' })).toMatchObject({ steps: 1000, lr: 6e-4, lrDecay: 'none', ectStages: 6 });
    expect(cm.trainConfig({ recipe: 'cd', teacher: 't.safetensors' })).toMatchObject({ steps: 1800, lr: 1e-4, emaRate: 0.999, intervals: 18, targetEma: 0.95, distance: 'pseudo-huber' });
    expect(cm.trainConfig({ recipe: 'ict', steps: 7, batch: undefined })).toMatchObject({ steps: 7, batch: 32 });
  });

  it('names the setting at fault', () => {
    const setting = (given: Partial<cm.TrainConfig>) => {
      try {
        cm.trainConfig({ recipe: 'ict', ...given });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).setting;
      }
      return null;
    };
    expect(setting({ width: 48 })).toBe('width');
    expect(setting({ lr: 0 })).toBe('lr');
    expect(setting({ emaRate: 1 })).toBe('emaRate');
    expect(setting({ extraEmaRates: [0.5, 2] })).toBe('extraEmaRates');
    expect(setting({ steps: 1.5 })).toBe('steps');
    expect(setting({ recipe: 'seed', model: 'UNet' })).toBe('model');
    expect(setting({ recipe: 'cd' })).toBe('teacher');
    expect(setting({ recipe: 'nope' as cm.TrainRecipe })).toBe('recipe');
    expect(setting({})).toBe(null);
  });
});

describe('checkpoint schema', () => {
  it('splits what it joins, rates with dots and exponents included', () => {
    const parts = {
      model: { 'down.0.weight': 1 }, ema: { 'down.0.weight': 2 }, target: { 'up.1.bias': 3 },
      optimizerM: { 'down.0.weight': 4 }, optimizerV: { 'down.0.weight': 5 },
      extraEmas: new Map<string, Record<string, number>>([['0.999', { 'down.0.weight': 6 }], ['1e-7', { 'time_mlp.0.weight': 7 }]]),
    };
    const joined = cm.joinCheckpoint(parts);
    expect(Object.keys(joined).sort()).toEqual(['down.0.weight', 'ema.down.0.weight', 'ema@0.999.down.0.weight', 'ema@1e-7.time_mlp.0.weight',
      'optimizer.m.down.0.weight', 'optimizer.v.down.0.weight', 'target.up.1.bias']);
    expect(cm.splitCheckpoint(joined)).toEqual(parts);
  });

  it('reads a file\'s metadata from its header alone', () => {
    expect(readSafetensorsMetadata(MODEL)).toEqual(loadSafetensors(MODEL).metadata);
    expect(() => readSafetensorsMetadata('examples')).toThrow(FileAccessError);
    expect(() => readSafetensorsMetadata('package.json')).toThrow(FormatError);
  });
});

function tinyFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onestep-lib-'));
  for (let i = 0; i < 3; i++) {
    const png = new PNG({ width: 16, height: 16 });
    png.data.fill(60 * i);
    writeFileSync(join(dir, `${i}.png`), PNG.sync.write(png));
  }
  return dir;
}

describe('data.loadDataset', () => {
  it('opens datasets by the names users give and checkpoints record', () => {
    expect(data.loadDataset('mnist-test')).toMatchObject({ name: 'mnist-test', count: 10_000, channels: 1, height: 32 });
    const folder = tinyFolder();
    expect(data.loadDataset(folder, { channels: 3, size: 8 })).toMatchObject({ count: 3, channels: 3, height: 8, width: 8 });
    expect(data.loadDataset(`folder:${folder}`)).toMatchObject({ count: 3, channels: 1, height: 32 });
    const idx = join(folder, '..', `${folder.split('/').at(-1)}-images-idx3-ubyte`);
    writeFileSync(idx, Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, ...new Array(2 * 784).fill(255)]));
    const fromIdx = data.loadDataset(relative(process.cwd(), idx));
    expect(fromIdx.name).toBe(`idx:${idx}`); // absolute, so a checkpoint naming it resumes from anywhere
    expect(fromIdx).toMatchObject({ count: 2, height: 32 });
    expect(fromIdx.images[0]).toBe(-1); // the padding
    expect(fromIdx.images[2 * 32 + 2]).toBe(1);
    expect(() => data.loadDataset('no-such-thing')).toThrow(FileAccessError);
    expect(() => data.loadDataset(folder, { channels: 2 })).toThrow(ConfigError);
    mkdirSync(join(folder, 'empty'));
    expect(() => data.loadDataset(join(folder, 'empty'))).toThrow(FormatError);
  });

  it('picks images without repetition, by seed', () => {
    const ds = data.loadDataset(tinyFolder(), { size: 4 });
    const a = data.pickImages(ds, 5, 1);
    expect(a.shape).toEqual([3, 1, 4, 4]);
    expect(new Set(Array.from(a.toArray()).filter((_, i) => i % 16 === 0)).size).toBe(3);
    expect(Array.from(data.pickImages(ds, 2, 7).toArray())).toEqual(Array.from(data.pickImages(ds, 2, 7).toArray()));
  });
});

describe('cm.loadImageSource', () => {
  it('opens a consistency model with its sampler, or an EDM teacher with Heun steps', () => {
    const source = cm.loadImageSource(MODEL, { steps: 2 });
    expect(source).toMatchObject({ kind: 'consistency', shape: [1, 32, 32], steps: 2, describe: '2 step(s) (levels 80, 0.8)' });
    expect(source.metadata.sigmas).toBe('80,0.8');
    expect(source.draw(3, new Generator(0), 2).shape).toEqual([3, 1, 32, 32]);
    expect(() => cm.loadImageSource(MODEL, { steps: 3 })).toThrow(/steps 3 has no default noise levels/);
    const ds = { name: 'tiny', images: new Float32Array(4 * 64).fill(0.5), labels: null, count: 4, channels: 1, height: 8, width: 8 };
    const teacher = new cm.Trainer(cm.trainConfig({ recipe: 'edm', batch: 2, steps: 1 }), ds);
    const file = join(mkdtempSync(join(tmpdir(), 'onestep-lib-')), 'teacher.safetensors');
    teacher.exportEma(file);
    const heun = cm.loadImageSource(file, { steps: 3 });
    expect(heun).toMatchObject({ kind: 'teacher', shape: [1, 8, 8], steps: 3, describe: '3 Heun steps of the EDM teacher' });
    expect(heun.draw(2, new Generator(0)).shape).toEqual([2, 1, 8, 8]);
  });
});

describe('cm.runEditTask', () => {
  const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
  const loaded = { model, f: cm.simpleUNetConsistency(model, 'official', 250), shape: [1, 8, 8] as [number, number, number], metadata: {} };
  const originals = randn([3, 1, 8, 8], { generator: new Generator(2) }).clamp(-1, 1);
  it('gives rows of originals, inputs and results, or interpolation points', () => {
    for (const task of ['inpaint', 'superres', 'denoise'] as const) {
      const { rows, columns } = cm.runEditTask(task, loaded, originals, { generator: new Generator(3), sigmas: [80, 5], factor: 2 });
      expect(rows.map((r) => r.shape), task).toEqual([[3, 1, 8, 8], [3, 1, 8, 8], [3, 1, 8, 8]]);
      expect(columns).toBe(3);
      expect(Array.from(rows[0]!.toArray())).toEqual(Array.from(originals.toArray()));
    }
    const { rows, columns } = cm.runEditTask('interpolate', loaded, originals, { generator: new Generator(3), points: 4 });
    expect([rows.length, rows[0]!.shape, columns]).toEqual([1, [12, 1, 8, 8], 4]);
    expect(() => cm.runEditTask('colorize', loaded, originals, { generator: new Generator(3) })).toThrow(/colorize needs an RGB model/);
  });
});

describe('metrics.evaluateMnist', () => {
  it('measures samples against the test digits beside the real-digit floor', () => {
    const classifier = metrics.loadClassifier('examples/checkpoints/mnist-classifier.safetensors');
    expect(() => metrics.loadClassifier(MODEL)).toThrow(/not the MNIST classifier/);
    const real = metrics.evaluateMnist(null, { classifier, n: 300, seed: 0 });
    expect(real.samples).toEqual(real.realTrainVsTest);
    expect(real.samples.fd).toBeLessThan(60);
    const progress: number[] = [];
    const model = metrics.evaluateMnist(cm.loadImageSource(MODEL), { classifier, n: 300, seed: 0, batch: 128, onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([128, 256, 300]);
    expect(model.realTrainVsTest.fd).toBeCloseTo(real.realTrainVsTest.fd, 5); // classified in other batches
    expect(model.samples.fd).toBeGreaterThan(3 * real.samples.fd);
    expect(model.samples.classCounts.reduce((a, b) => a + b, 0)).toBe(300);
    expect(() => metrics.evaluateMnist(null, { classifier, n: 1, seed: 0 })).toThrow(/n must be an integer from 2 to 60000/);
  });
});
