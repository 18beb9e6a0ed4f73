import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Trainer } from '../src/cm/trainer';
import type { TrainConfig } from '../src/cm/config';
import type { ImageDataset } from '../src/data/dataset';
import { loadConsistencyModel, loadTeacher } from '../src/cm/load-file';
import { sample } from '../src/cm/sample';
import { Generator, loadSafetensors, saveSafetensors, SimpleUNet, tensor } from '../src/index';

function tinyDataset(): ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 12 * 64 }, () => g.uniform() * 2 - 1);
  return { name: 'tiny', images, labels: null, count: 12, channels: 1, height: 8, width: 8 };
}

const unet = { channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [2], dropout: 0.1, numHeads: 1 };
const configs: [string, TrainConfig][] = [
  ['ict, SimpleUNet, two EMA rates', { recipe: 'ict', width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11, emaRate: 0.9, extraEmaRates: [0.99], cNoiseScale: 250 }],
  ['ect, SimpleUNet, 3 stages', { recipe: 'ect', ectStages: 3, width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11, emaRate: 0.9, cNoiseScale: 250 }],
  ['seed, SimpleUNet', { recipe: 'seed', width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11, emaRate: 0.9, cNoiseScale: 250 }],
  ['ict, UNet with dropout', { recipe: 'ict', model: 'UNet', unet, width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11, emaRate: 0.9, cNoiseScale: 250 }],
];

// An EDM teacher of one step, for the distillation runs below.
const teacherFile = (() => {
  const t = new Trainer({ recipe: 'edm', width: 32, batch: 4, steps: 2, lr: 1e-3, seed: 5, emaRate: 0.9, cNoiseScale: 250 }, tinyDataset());
  t.trainStep();
  const file = join(mkdtempSync(join(tmpdir(), 'onestep-teacher-')), 'teacher.safetensors');
  t.exportEma(file);
  return file;
})();
configs.push(
  ['edm teacher', { recipe: 'edm', width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11, emaRate: 0.9, cNoiseScale: 250 }],
  ['cd from that teacher', {
    recipe: 'cd', teacher: teacherFile, intervals: 6, targetEma: 0.5, distance: 'l2', width: 32, batch: 4, steps: 6, lr: 1e-3, seed: 11,
    emaRate: 0.9, cNoiseScale: 250,
  }],
);

for (const [label, config] of configs) {
  describe(`Trainer (${label})`, () => {

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
      [[straight.ema, resumed.ema], ...straight.extraEmas.map((e, i) => [e, resumed.extraEmas[i]!])].forEach(([x, y]) => {
        const a = x!.stateDict(), b = y!.stateDict();
        for (const name of Object.keys(a)) expect(Array.from(b[name]!.toArray())).toEqual(Array.from(a[name]!.toArray()));
      });
      if (config.extraEmaRates) {
        expect(straight.extraEmas.length).toBe(1);
        resumed.exportEma(join(dir, 'slow.safetensors'), 0.99);
        expect(loadSafetensors(join(dir, 'slow.safetensors')).metadata.ema_rate).toBe('0.99');
        expect(() => resumed.exportEma(join(dir, 'x.safetensors'), 0.5)).toThrow(/no EMA copy at rate 0.5; this run keeps 0.9, 0.99/);
      }
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
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

  it('keeps the run\'s schedule in its checkpoint (none for a library run), and refuses a damaged one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-schedule-'));
    const t = new Trainer({ recipe: 'ict', width: 32, batch: 4, steps: 3, lr: 1e-3, seed: 1, emaRate: 0.9, cNoiseScale: 250 }, tinyDataset());
    t.save(join(dir, 'plain.safetensors'));
    expect(loadSafetensors(join(dir, 'plain.safetensors')).metadata.schedule).toBeUndefined();
    expect(Trainer.resume(join(dir, 'plain.safetensors'), tinyDataset()).schedule).toEqual({});
    t.schedule = { checkpointEvery: 500, sampleEvery: 0, evalEvery: 5000 };
    t.save(join(dir, 'scheduled.safetensors'));
    expect(Trainer.resume(join(dir, 'scheduled.safetensors'), tinyDataset()).schedule).toEqual(t.schedule);
    const { tensors, metadata } = loadSafetensors(join(dir, 'scheduled.safetensors'));
    for (const [bad, why] of [['{"sampleEvery":-1}', 'sampleEvery'], ['{"every":5}', 'every'], ['[1]', 'not an object'], ['{', 'not valid JSON']]) {
      saveSafetensors(join(dir, 'bad.safetensors'), tensors, { ...metadata, schedule: bad! });
      expect(() => Trainer.resume(join(dir, 'bad.safetensors'), tinyDataset()), bad).toThrow(new RegExp(`metadata 'schedule' is (not valid \\(${why}|${why})`));
    }
  });

  it('exports and reloads a UNet for sampling, and refuses the UNet with the community recipe', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-unet-'));
    const t = new Trainer({ recipe: 'ict', model: 'UNet', unet, width: 32, batch: 4, steps: 3, lr: 1e-3, seed: 1, emaRate: 0.5, cNoiseScale: 250 }, tinyDataset());
    t.trainStep();
    t.exportEma(join(dir, 'unet.safetensors'));
    const loaded = loadConsistencyModel(join(dir, 'unet.safetensors'));
    expect(loaded.metadata).toMatchObject({ model: 'UNet', width: '32', parametrization: 'official' });
    const ours = Array.from(t.sample(2, 5).toArray());
    expect(Array.from(sample(loaded.f, { count: 2, shape: loaded.shape, generator: new Generator(5) }).toArray())).toEqual(ours);
    expect(() => new Trainer({ recipe: 'seed', model: 'UNet', width: 32, batch: 4, steps: 3, lr: 1e-3, seed: 1, emaRate: 0.5, cNoiseScale: 250 }, tinyDataset())).toThrow(/model UNet has no community parametrization: use recipe ict, edm or cd/);
  });
});

describe('loading SimpleUNet weights saved elsewhere', () => {
  it('reads a file of plain PyTorch state-dict names without metadata (F16, as torch half tensors) and samples', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-torch-'));
    const source = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(4) });
    // Hand-encode F16: what safetensors.torch.save_file writes for a half-precision state dict.
    const toHalf = (v: number): number => {
      const f = new Float32Array([v]), u = new Uint32Array(f.buffer)[0]!;
      const sign = (u >>> 16) & 0x8000, exp = ((u >>> 23) & 0xff) - 127 + 15, mant = (u >>> 13) & 0x3ff;
      return exp <= 0 ? sign : exp >= 31 ? sign | 0x7c00 : sign | (exp << 10) | mant;
    };
    const entries = Object.entries(source.stateDict());
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const [name, t] of entries) {
      header[name] = { dtype: 'F16', shape: [...t.shape], data_offsets: [offset, offset + 2 * t.size] };
      offset += 2 * t.size;
    }
    const json = Buffer.from(JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + offset);
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    let pos = 8 + json.length;
    for (const [, t] of entries) for (const v of t.toArray()) { dv.setUint16(pos, toHalf(v), true); pos += 2; }
    writeFileSync(join(dir, 'torch.safetensors'), bytes);

    const loaded = loadConsistencyModel(join(dir, 'torch.safetensors'));
    expect(loaded.shape).toEqual([1, 32, 32]);
    // each weight must read back as exactly the half-precision value written for it
    const fromHalf = (h: number) => ((h & 0x8000) ? -1 : 1) * ((h >> 10) & 0x1f ? 2 ** (((h >> 10) & 0x1f) - 15) * (1 + (h & 0x3ff) / 1024) : 2 ** -14 * ((h & 0x3ff) / 1024));
    for (const [name, t] of entries) {
      const got = Array.from(loaded.model.stateDict()[name]!.toArray());
      expect(got).toEqual(Array.from(t.toArray()).map((v) => Math.fround(fromHalf(toHalf(v)))));
    }
    const images = sample(loaded.f, { count: 2, shape: loaded.shape, generator: new Generator(1) });
    expect(images.shape).toEqual([2, 1, 32, 32]);
    expect(Array.from(images.toArray()).every((v) => v >= -1 && v <= 1)).toBe(true);
  });
});

describe('learning-rate decay', () => {
  it('cosine decays from lr to 0 over the run, and survives a resume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-decay-'));
    const t = new Trainer({ recipe: 'ict', width: 32, batch: 4, steps: 4, lr: 1e-3, seed: 2, emaRate: 0.9, cNoiseScale: 250, lrDecay: 'cosine' }, tinyDataset());
    expect(t.learningRate()).toBeCloseTo(1e-3, 12);
    t.trainStep();
    t.trainStep();
    expect(t.learningRate()).toBeCloseTo(5e-4, 12); // (1 + cos(pi / 2)) / 2
    t.save(join(dir, 'c.safetensors'));
    expect(Trainer.resume(join(dir, 'c.safetensors'), tinyDataset()).learningRate()).toBeCloseTo(5e-4, 12);
    expect(() => new Trainer({ ...t.config, lrDecay: 'step' as never }, tinyDataset())).toThrow(/lrDecay must be 'none' or 'cosine'/);
  });
});

describe('Trainer: teacher and distillation', () => {
  it('the student starts from the teacher; teacher and consistency files are not confused', () => {
    const teacher = loadTeacher(teacherFile);
    const cd = new Trainer({
      recipe: 'cd', teacher: teacherFile, width: 32, batch: 4, steps: 2, lr: 1e-3, seed: 1, emaRate: 0.9, cNoiseScale: 250,
    }, tinyDataset());
    const a = teacher.model.stateDict(), b = cd.model.stateDict();
    for (const name of Object.keys(a)) expect(Array.from(b[name]!.toArray())).toEqual(Array.from(a[name]!.toArray()));
    expect(() => loadConsistencyModel(teacherFile)).toThrow(/is an EDM teacher \(a denoiser\), not a consistency model/);
    const dir = mkdtempSync(join(tmpdir(), 'onestep-cd-'));
    cd.trainStep();
    cd.exportEma(join(dir, 'ema.safetensors'));
    expect(() => loadTeacher(join(dir, 'ema.safetensors'))).toThrow(/is not an EDM teacher \(its parametrization is 'official'\)/);
    expect(loadConsistencyModel(join(dir, 'ema.safetensors')).metadata.teacher).toBe(teacherFile);
    expect(() => new Trainer({ recipe: 'cd', teacher: teacherFile, width: 64, batch: 4, steps: 2, lr: 1e-3, seed: 1, emaRate: 0.9, cNoiseScale: 250 }, tinyDataset()))
      .toThrow(/the teacher .* is a SimpleUNet of width 32 on 1 channel\(s\); this run's network must match it/);
    expect(() => new Trainer({ recipe: 'cd', width: 32, batch: 4, steps: 2, lr: 1e-3, seed: 1, emaRate: 0.9, cNoiseScale: 250 }, tinyDataset()))
      .toThrow(/recipe cd needs a teacher file/);
  });
});

describe('Trainer: init from a file', () => {
  const ict: TrainConfig = { recipe: 'ict', width: 32, batch: 4, steps: 4, lr: 1e-3, seed: 1, emaRate: 0.9, extraEmaRates: [0.99], cNoiseScale: 250 };

  it('starts the model and its EMA copies from an EDM teacher or a model of its own parametrization, and a resume does not read the file again', () => {
    const teacher = loadTeacher(teacherFile).model.stateDict();
    const run = new Trainer({ ...ict, init: teacherFile }, tinyDataset());
    for (const net of [run.model, run.ema, ...run.extraEmas]) {
      const weights = net.stateDict();
      for (const name of Object.keys(teacher)) expect(Array.from(weights[name]!.toArray())).toEqual(Array.from(teacher[name]!.toArray()));
    }
    const fresh = new Trainer(ict, tinyDataset()).model.stateDict();
    expect(Array.from(fresh['down.0.weight']!.toArray())).not.toEqual(Array.from(teacher['down.0.weight']!.toArray()));
    // a consistency model of the same parametrization (official), then a resume with the init file gone
    const dir = mkdtempSync(join(tmpdir(), 'onestep-init-'));
    run.trainStep();
    run.exportEma(join(dir, 'ema.safetensors'));
    expect(loadSafetensors(join(dir, 'ema.safetensors')).metadata.init).toBe(teacherFile);
    const copy = join(dir, 'init.safetensors');
    writeFileSync(copy, readFileSync(join(dir, 'ema.safetensors')));
    const tuned = new Trainer({ ...ict, init: copy }, tinyDataset());
    expect(Array.from(tuned.model.stateDict()['last.weight']!.toArray())).toEqual(Array.from(run.ema.stateDict()['last.weight']!.toArray()));
    tuned.trainStep();
    tuned.save(join(dir, 'checkpoint.safetensors'));
    rmSync(copy);
    const resumed = Trainer.resume(join(dir, 'checkpoint.safetensors'), tinyDataset());
    expect(resumed.config.init).toBe(copy);
    expect(Array.from(resumed.model.stateDict()['last.weight']!.toArray())).toEqual(Array.from(tuned.model.stateDict()['last.weight']!.toArray()));
  });

  it('starts a class-conditional run from an unconditional file: its weights, and a new network\'s label embedding', () => {
    const labelled = (): ImageDataset => ({ ...tinyDataset(), labels: Uint8Array.from({ length: 12 }, (_, i) => i % 3) });
    const unconditional = loadTeacher(teacherFile).model.stateDict();
    const config: TrainConfig = { ...ict, recipe: 'edm', classConditional: true, labelDropout: 0.25 };
    const run = new Trainer({ ...config, init: teacherFile }, labelled());
    const fresh = new Trainer(config, labelled()).model.stateDict();
    for (const net of [run.model, run.ema, ...run.extraEmas]) {
      const weights = net.stateDict();
      expect(Object.keys(weights).filter((name) => !(name in unconditional))).toEqual(['label_emb.weight']);
      for (const name of Object.keys(unconditional)) expect(Array.from(weights[name]!.toArray()), name).toEqual(Array.from(unconditional[name]!.toArray()));
      expect(weights['label_emb.weight']!.shape).toEqual([4, 64]);
      expect(Array.from(weights['label_emb.weight']!.toArray())).toEqual(Array.from(fresh['label_emb.weight']!.toArray()));
    }
    const before = Array.from(run.model.stateDict()['label_emb.weight']!.toArray());
    run.trainStep();
    expect(Array.from(run.model.stateDict()['label_emb.weight']!.toArray())).not.toEqual(before);
    // the other way round is refused: a class-conditional file does not start an unconditional run
    const dir = mkdtempSync(join(tmpdir(), 'onestep-init-'));
    run.exportEma(join(dir, 'cond.safetensors'));
    expect(() => new Trainer({ ...ict, recipe: 'edm', init: join(dir, 'cond.safetensors') }, tinyDataset())).toThrow(/conditional on 3 classes; this run's network must match it/);
  });

  it('refuses another network and another parametrization (recipe cd too), naming the file', () => {
    expect(() => new Trainer({ ...ict, width: 64, init: teacherFile }, tinyDataset())).toThrow(/the init file .*teacher\.safetensors is a SimpleUNet of width 32 on 1 channel\(s\); this run's network must match it/);
    expect(() => new Trainer({ ...ict, model: 'UNet', unet, init: teacherFile }, tinyDataset())).toThrow(/is a SimpleUNet of width 32/);
    expect(() => new Trainer({ ...ict, cNoiseScale: 100, init: teacherFile }, tinyDataset())).toThrow(/was trained with the time input 250 ln\(sigma\); this run's is 100 ln\(sigma\)/);
    // two UNets that differ in their layout only
    const unetRun = new Trainer({ ...ict, model: 'UNet', unet }, tinyDataset());
    const unetFile = join(mkdtempSync(join(tmpdir(), 'onestep-init-')), 'unet.safetensors');
    unetRun.exportEma(unetFile);
    expect(() => new Trainer({ ...ict, model: 'UNet', unet: { ...unet, dropout: 0 }, init: unetFile }, tinyDataset())).not.toThrow();
    expect(() => new Trainer({ ...ict, model: 'UNet', unet: { ...unet, channelMult: [1, 1] }, init: unetFile }, tinyDataset()))
      .toThrow(/is a UNet of width 32 on 1 channel\(s\) \(UNet settings \{"channelMult":\[1,2\].*\); this run's network must match it \(.*the UNet settings\)/);
    const community = new Trainer({ ...ict, recipe: 'seed' }, tinyDataset());
    const file = join(mkdtempSync(join(tmpdir(), 'onestep-init-')), 'seed.safetensors');
    community.exportEma(file);
    expect(() => new Trainer({ ...ict, init: file }, tinyDataset())).toThrow(/is a consistency model of the community parametrization; recipe ict trains the official one/);
    expect(() => new Trainer({ ...ict, recipe: 'cd', teacher: teacherFile, init: file }, tinyDataset())).toThrow(/is a consistency model of the community parametrization; recipe cd trains the official one/);
  });

  it('recipe cd starts from an init file (a student) instead of its teacher: the model and its EMA', () => {
    const student = new Trainer({ ...ict, recipe: 'cd', teacher: teacherFile, steps: 2, lr: 1e-2 }, tinyDataset());
    student.trainStep();
    student.trainStep();
    const file = join(mkdtempSync(join(tmpdir(), 'onestep-init-')), 'student.safetensors');
    student.exportEma(file);
    const weights = (t: Trainer) => Array.from(t.model.parameters()[0]!.toArray());
    const fromTeacher = new Trainer({ ...ict, recipe: 'cd', teacher: teacherFile }, tinyDataset());
    const fromStudent = new Trainer({ ...ict, recipe: 'cd', teacher: teacherFile, init: file }, tinyDataset());
    expect(weights(fromStudent)).toEqual(Array.from(loadSafetensors(file).tensors[fromStudent.model.namedParameters()[0]![0]]!.toArray()));
    expect(weights(fromStudent)).not.toEqual(weights(fromTeacher));
    expect(Array.from(fromStudent.ema.parameters()[0]!.toArray())).toEqual(weights(fromStudent));
  });
});
