import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { cm, ConfigError, data, decodePng, decodeSafetensors, encodeSafetensors, FormatError, Generator } from '../src/index';
import { datasetBytes, datasetFingerprint, datasetFromBytes } from '../examples/web/stored-dataset';

// The training run and datasets of the portable core (no file system): what the page's Train panel
// and the CLI share. Node's Trainer and runTraining wrap them (test/trainer.test.ts, test/run.test.ts).

function tinyDataset(): data.ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 12 * 64 }, () => g.uniform() * 2 - 1);
  return { name: 'tiny', images, labels: null, count: 12, channels: 1, height: 8, width: 8 };
}

const config = (): cm.TrainConfig => cm.trainConfig({ recipe: 'ict', width: 32, batch: 4, steps: 6, seed: 7, extraEmaRates: [0.99] });

describe('TrainingRun', () => {
  it('checkpointBytes are the bytes Trainer.save writes, and emaBytes those of exportEma', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-portable-'));
    const run = new cm.Trainer(config(), tinyDataset());
    run.trainStep();
    run.trainSeconds = 1.5;
    run.save(join(dir, 'checkpoint.safetensors'));
    run.exportEma(join(dir, 'ema.safetensors'), 0.99);
    expect(Buffer.compare(readFileSync(join(dir, 'checkpoint.safetensors')), run.checkpointBytes())).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'ema.safetensors')), run.emaBytes(0.99))).toBe(0);
  });

  it('fromCheckpoint resumes from bytes to the weights of an uninterrupted run; checkpointSummary reads the file first', () => {
    const straight = new cm.TrainingRun(config(), tinyDataset());
    for (let k = 0; k < 6; k++) straight.trainStep();
    const first = new cm.TrainingRun(config(), tinyDataset());
    for (let k = 0; k < 2; k++) first.trainStep();
    const bytes = first.checkpointBytes();
    const summary = cm.checkpointSummary('run.safetensors', decodeSafetensors(bytes).metadata);
    expect([summary.step, summary.dataset, summary.config.steps, summary.classNames]).toEqual([2, 'tiny', 6, undefined]);
    let asked: string | null = null;
    const resumed = cm.TrainingRun.fromCheckpoint(bytes, 'run.safetensors', (s) => ((asked = s.dataset), tinyDataset()));
    expect(asked).toBe('tiny');
    expect(resumed.step).toBe(2);
    while (resumed.step < 6) resumed.trainStep();
    const weights = (r: cm.TrainingRun) => decodeSafetensors(r.checkpointBytes()).tensors;
    const [a, b] = [weights(straight), weights(resumed)];
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) expect(Array.from(b.get(name)!.data), name).toEqual(Array.from(t.data));
  });

  it('refuses an export, or bytes that are not a checkpoint, naming the file', () => {
    const run = new cm.TrainingRun(config(), tinyDataset());
    expect(() => cm.TrainingRun.fromCheckpoint(run.emaBytes(), 'ema.safetensors', tinyDataset())).toThrow(/ema\.safetensors is not a training checkpoint/);
    expect(() => cm.TrainingRun.fromCheckpoint(new Uint8Array(20), 'x.safetensors', tinyDataset())).toThrow(FormatError);
  });

  it('a run that reads a weights file and was given no way to read it says so', () => {
    expect(() => new cm.TrainingRun(cm.trainConfig({ recipe: 'ict', width: 32, batch: 4, steps: 2, init: 'start.safetensors' }), tinyDataset()))
      .toThrow(/reads the weights file start\.safetensors .*pass options\.weights/);
  });
});

describe('trainLoop', () => {
  it('stops with a checkpoint when asked, and continued it ends as an uninterrupted run', async () => {
    const straight = new cm.TrainingRun(config(), tinyDataset());
    const saved: number[] = [];
    const whole = await cm.trainLoop(straight, { checkpointEvery: 4, checkpointName: 'memory', saveCheckpoint: (r) => void saved.push(r.step) });
    expect([whole.stoppedBy, whole.steps, saved]).toEqual([undefined, 6, [4, 6]]);
    const paused = new cm.TrainingRun(config(), tinyDataset());
    const grids: string[] = [];
    const first = await cm.trainLoop(paused, {
      checkpointName: 'memory', saveCheckpoint: () => undefined, sampleEvery: 2, onSamples: (_, tag) => void grids.push(tag), shouldStop: () => paused.step >= 3,
    });
    expect([first.stoppedBy, first.steps, grids]).toEqual(['request', 3, ['step2']]);
    const rest = await cm.trainLoop(paused, { checkpointName: 'memory', saveCheckpoint: () => undefined });
    expect([rest.stoppedBy, rest.steps, paused.step]).toEqual([undefined, 3, 6]);
    const expected = decodeSafetensors(straight.checkpointBytes()).tensors;
    for (const [name, t] of decodeSafetensors(paused.checkpointBytes()).tensors) expect(Array.from(t.data), name).toEqual(Array.from(expected.get(name)!.data));
  });

  it('refuses cadences that are not whole numbers of steps', async () => {
    const run = new cm.TrainingRun(config(), tinyDataset());
    await expect(cm.trainLoop(run, { checkpointEvery: 0, checkpointName: 'm', saveCheckpoint: () => undefined })).rejects.toThrow(ConfigError);
    await expect(cm.trainLoop(run, { sampleEvery: 1.5, checkpointName: 'm', saveCheckpoint: () => undefined })).rejects.toThrow(/sampleEvery must be an integer >= 0/);
  });

  it('sampleGrids: the recipe\'s grids of the EMA copy, a class-conditional run\'s through its classes', () => {
    const labelled = { ...tinyDataset(), labels: Uint8Array.from({ length: 12 }, (_, i) => i % 3), classNames: ['a', 'b', 'c'] };
    const run = new cm.TrainingRun(cm.trainConfig({ recipe: 'ict', width: 32, batch: 4, steps: 2, classConditional: true }), labelled);
    const grids = cm.sampleGrids(run, 6);
    expect(grids.map((g) => [g.name, g.images.shape])).toEqual([['1step', [6, 1, 8, 8]], ['2step', [6, 1, 8, 8]]]);
    const third = cm.sampleGrids(run, 6, [2, 2, 2, 2, 2, 2])[0]!.images.toArray();
    const cycled = grids[0]!.images.toArray();
    // image 2 is of class 2 both times, image 0 of class 0 only in the cycled grid
    expect(Array.from(third.subarray(128, 192))).toEqual(Array.from(cycled.subarray(128, 192)));
    expect(Array.from(third.subarray(0, 64))).not.toEqual(Array.from(cycled.subarray(0, 64)));
  });
});

describe('datasets from bytes and pixels', () => {
  it('folderLayout: the flat layout, one subfolder per class (hidden files skipped), and each refusal naming the file and the fix', () => {
    expect(data.folderLayout(['pics/b.png', 'pics/a.JPG', 'pics/.DS_Store'])).toEqual({ root: 'pics', classNames: null, files: [{ path: 'pics/a.JPG', label: null }, { path: 'pics/b.png', label: null }] });
    expect(data.folderLayout(['d/7/x.png', 'd/1/y.png', 'd/1/a.jpeg', 'd/.git/config'])).toEqual({
      root: 'd', classNames: ['1', '7'], files: [{ path: 'd/1/a.jpeg', label: 0 }, { path: 'd/1/y.png', label: 0 }, { path: 'd/7/x.png', label: 1 }],
    });
    expect(() => data.folderLayout(['d/a.png', 'd/cls/b.png'])).toThrow(/d holds both files \(a\.png\) and subfolders \(cls\); use one layout/);
    expect(() => data.folderLayout(['d/cls/deep/b.png'])).toThrow(/d\/cls\/deep is a folder inside the class folder d\/cls; put the class's PNG or JPEG images directly in it/);
    expect(() => data.folderLayout(['d/cls/notes.txt', 'd/cls/a.png'])).toThrow(/d\/cls\/notes\.txt is not a \.png, \.jpg or \.jpeg file.*remove it or convert it/);
    expect(() => data.folderLayout(['d/.hidden'])).toThrow(/holds no files/);
    expect(() => data.folderLayout(['d/a.png', 'e/b.png'])).toThrow(/e\/b\.png is not inside the folder d/);
  });

  it('folderLayout refuses a class folder without images as loadImageFolder does, with the same message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-layout-'));
    mkdirSync(join(dir, 'd', 'cat'), { recursive: true });
    mkdirSync(join(dir, 'd', 'eel'), { recursive: true });
    writeFileSync(join(dir, 'd', 'cat', 'a.png'), PNG.sync.write(new PNG({ width: 2, height: 2 })));
    // a browser's file list shows the empty class folder only through its hidden file
    writeFileSync(join(dir, 'd', 'eel', '.DS_Store'), 'x');
    const message = 'holds no .png, .jpg or .jpeg files; add its images or remove it.';
    expect(() => data.loadImageFolder(join(dir, 'd'), { size: 2 })).toThrow(`image folder: the class folder ${join(dir, 'd', 'eel')} ${message}`);
    expect(() => data.folderLayout(['d/cat/a.png', 'd/eel/.DS_Store'])).toThrow(`image folder: the class folder d/eel ${message}`);
    // a folder beside the images, even one holding only hidden files, mixes the layouts (loadImageFolder: the same)
    expect(() => data.folderLayout(['d/a.png', 'd/sub/.DS_Store'])).toThrow(/d holds both files \(a\.png\) and subfolders \(sub\); use one layout/);
    // hidden folders stay skipped
    expect(data.folderLayout(['d/a.png', 'd/.git/config']).files).toEqual([{ path: 'd/a.png', label: null }]);
  });

  it('the stored dataset of a folder run (examples/web/stored-dataset.ts) reads back with its fingerprint, and a damaged one is a FormatError naming the problem', () => {
    const ds: data.ImageDataset = { ...tinyDataset(), name: 'folder:shapes', labels: Uint8Array.from({ length: 12 }, (_, i) => i % 3), classNames: ['a', 'b', 'c'] };
    const bytes = datasetBytes(ds);
    const back = datasetFromBytes(bytes, 'the stored images');
    expect([back.name, back.count, Array.from(back.labels!), back.classNames, datasetFingerprint(back)]).toEqual(['folder:shapes', 12, Array.from(ds.labels!), ['a', 'b', 'c'], datasetFingerprint(ds)]);
    expect(Array.from(back.images)).toEqual(Array.from(ds.images));
    expect(datasetFingerprint(ds)).toMatch(/^12 images, [0-9a-f]{8}$/);
    expect(datasetFingerprint({ ...ds, images: ds.images.map((v, i) => (i === 5 ? v + 1 : v)) })).not.toBe(datasetFingerprint(ds));
    const rewrite = (metadata: Record<string, string>, labels = 12) => {
      const file = decodeSafetensors(bytes, 'x');
      return encodeSafetensors({ images: file.tensors.get('images')!, labels: { dtype: 'F32', shape: [labels], data: new Float32Array(labels) } }, { ...file.metadata, ...metadata });
    };
    expect(() => datasetFromBytes(rewrite({ class_names: '["a", "b"' }), 'the stored images')).toThrow(FormatError);
    expect(() => datasetFromBytes(rewrite({ class_names: '["a", "b"' }), 'the stored images')).toThrow(/the stored images: its metadata class_names is not JSON .*choose the folder again/);
    expect(() => datasetFromBytes(rewrite({}, 11), 'the stored images')).toThrow(/the stored images: its labels tensor has shape \[11\] for 12 images; the stored images are damaged/);
    expect(() => datasetFromBytes(rewrite({ fingerprint: '12 images, 00000000' }), 'the stored images')).toThrow(/do not match the fingerprint written with them/);
  });

  it('imageListDataset gives loadImageFolder\'s numbers for the same pixels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-list-'));
    const paths: string[] = [];
    ['x', 'y'].forEach((cls, c) => {
      mkdirSync(join(dir, 'set', cls), { recursive: true });
      for (let i = 0; i < 2; i++) {
        const png = new PNG({ width: 10, height: 7 });
        for (let p = 0; p < 70; p++) png.data.set([(p * 11 + c * 50) % 256, (p * 3 + i) % 256, 200, 128 + i * 100], 4 * p);
        writeFileSync(join(dir, 'set', cls, `${i}.png`), PNG.sync.write(png));
        paths.push(`set/${cls}/${i}.png`);
      }
    });
    const layout = data.folderLayout(paths);
    for (const channels of [1, 3] as const) {
      const list = data.imageListDataset(layout, layout.files.map((f) => decodePng(readFileSync(join(dir, f.path)))), { size: 8, channels });
      const folder = data.loadImageFolder(join(dir, 'set'), { size: 8, channels });
      expect([list.name, list.count, Array.from(list.labels!), list.classNames]).toEqual(['folder:set', 4, [0, 0, 1, 1], ['x', 'y']]);
      expect(Array.from(list.images)).toEqual(Array.from(folder.images));
    }
  });

  it('mnistFromIdx and fashionFromJson refuse files that do not fit, naming them', () => {
    const idx = (shape: number[]) => {
      const out = new Uint8Array(4 + 4 * shape.length + shape.reduce((a, b) => a * b, 1));
      out.set([0, 0, 8, shape.length]);
      shape.forEach((n, i) => new DataView(out.buffer).setUint32(4 + 4 * i, n));
      return out;
    };
    expect(data.mnistFromIdx('test', idx([2, 28, 28]), idx([2])).count).toBe(2);
    expect(() => data.mnistFromIdx('test', idx([2, 28, 28]), idx([3]))).toThrow(/t10k-labels-idx1-ubyte holds 3 labels for 2 images/);
    expect(() => data.mnistFromIdx('test', idx([2, 20, 20]), idx([2]))).toThrow(/images are 20x20, expected 28x28/);
    const cls = { data: [new Array(784).fill(0)] };
    expect(data.fashionFromJson(Array(10).fill(cls)).count).toBe(10);
    expect(() => data.fashionFromJson(Array(9).fill(cls))).toThrow(/9 class files given; it has 10/);
    expect(() => data.fashionFromJson([...Array(9).fill(cls), { data: [[1, 2]] }])).toThrow(/9\.json does not hold a 'data' array of 784-value images/);
  });
});
