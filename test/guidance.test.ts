import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cm, Generator, tensor, type data, type Tensor } from '../src/index';

// Classifier-free guidance (src/cm/guidance.ts): D_w = D_uncond + (1 + w)(D_cond - D_uncond) for
// a class-conditional teacher, in its sampler (sample/eval --guidance) and in distillation (distill --guidance).

function labelledDataset(): data.ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 12 * 64 }, () => g.uniform() * 2 - 1);
  return { name: 'tiny-labelled', images, labels: Uint8Array.from({ length: 12 }, (_, i) => i % 3), classNames: ['a', 'b', 'c'], count: 12, channels: 1, height: 8, width: 8 };
}

/** A denoiser whose conditional output is x + label per image and whose unconditional one (label 3 or none) is 2x. */
const fake: cm.Denoiser = (x: Tensor, _sigma: Tensor, labels?: ArrayLike<number>) => {
  const rows = Array.from({ length: x.shape[0]! }, (_, i) => (labels === undefined || labels[i] === 3 ? null : labels[i]!));
  const perImage = x.shape.slice(1).reduce((a, b) => a * b, 1), values = x.toArray();
  return tensor(Array.from(values, (v, i) => { const k = rows[Math.floor(i / perImage)]; return k === null ? 2 * v : v + k; })).reshape([...x.shape]);
};

describe('guidedDenoiser', () => {
  const x = tensor([1, 2, 3, 4]).reshape([2, 1, 1, 2]), sigma = tensor([1, 1]);
  const values = (t: Tensor) => Array.from(t.toArray());

  it('is D_uncond + (1 + w)(D_cond - D_uncond); w = 0 the conditional denoiser; "no label" the unconditional one', () => {
    // image 0, label 1: cond = x + 1 = [2, 3], uncond = 2x = [2, 4]; image 1, label 3 ("no label"): [6, 8]
    expect(values(cm.guidedDenoiser(fake, 2)(x, sigma, [1, 3]))).toEqual([2 + 3 * 0, 4 + 3 * -1, 6, 8]);
    expect(values(cm.guidedDenoiser(fake, 0)(x, sigma, [1, 3]))).toEqual(values(fake(x, sigma, [1, 3])));
    expect(values(cm.guidedDenoiser(fake, 0.5)(x, sigma, [0, 2]))).toEqual([2 + 1.5 * -1, 4 + 1.5 * -2, 6 + 1.5 * -1, 8 + 1.5 * -2]);
  });

  it('refuses a weight below 0 or not finite, and images without classes', () => {
    expect(() => cm.guidedDenoiser(fake, -1)).toThrow(/guidance must be a number >= 0.*got -1/);
    expect(() => cm.guidedDenoiser(fake, Number.NaN)).toThrow(/guidance must be a number >= 0/);
    expect(() => cm.guidedDenoiser(fake, 1)(x, sigma)).toThrow(/guidance needs a class per image/);
  });
});

describe('autoguidedDenoiser', () => {
  const x = tensor([1, 2, 3, 4]).reshape([2, 1, 1, 2]), sigma = tensor([1, 1]);
  const values = (t: Tensor) => Array.from(t.toArray());
  const weak: cm.Denoiser = (y, _sigma, labels) => fake(y, _sigma, labels).mul(0.5);

  it('is D_weak + (1 + w)(D - D_weak), the labels going to both; w = 0 the teacher itself; no labels needed', () => {
    // labels [1, 3]: D = [2, 3, 6, 8], D_weak = [1, 1.5, 3, 4]
    expect(values(cm.autoguidedDenoiser(fake, weak, 2)(x, sigma, [1, 3]))).toEqual([1 + 3 * 1, 1.5 + 3 * 1.5, 3 + 3 * 3, 4 + 3 * 4]);
    expect(values(cm.autoguidedDenoiser(fake, weak, 0)(x, sigma, [1, 3]))).toEqual(values(fake(x, sigma, [1, 3])));
    // no labels: D = 2x = [2, 4, 6, 8], D_weak = x
    expect(values(cm.autoguidedDenoiser(fake, weak, 0.5)(x, sigma))).toEqual([1 + 1.5, 2 + 3, 3 + 4.5, 4 + 6]);
    expect(() => cm.autoguidedDenoiser(fake, weak, -0.5)).toThrow(/guidance must be a number >= 0.*got -0.5/);
  });
});

describe('autoAndClassGuidedDenoiser', () => {
  const x = tensor([1, 2, 3, 4]).reshape([2, 1, 1, 2]), sigma = tensor([1, 1]);
  const values = (t: Tensor) => Array.from(t.toArray());
  const weak: cm.Denoiser = (y, _sigma, labels) => fake(y, _sigma, labels).mul(0.5);

  it('is the autoguided denoiser plus g (D_cond - D_uncond); g = 0 autoguidance alone; "no label" rows autoguided only', () => {
    // labels [1, 3]: D = [2, 3, 6, 8], D_weak = [1, 1.5, 3, 4], D_uncond = 2x = [2, 4, 6, 8]; a = 2, g = 0.5
    expect(values(cm.autoAndClassGuidedDenoiser(fake, weak, 2, 0.5)(x, sigma, [1, 3]))).toEqual([4 + 0.5 * 0, 6 + 0.5 * -1, 12, 16]);
    expect(values(cm.autoAndClassGuidedDenoiser(fake, weak, 2, 0)(x, sigma, [1, 3]))).toEqual(values(cm.autoguidedDenoiser(fake, weak, 2)(x, sigma, [1, 3])));
    // a = 0: D_cond + g (D_cond - D_uncond), classifier-free guidance with w = g
    expect(values(cm.autoAndClassGuidedDenoiser(fake, weak, 0, 1)(x, sigma, [0, 2]))).toEqual(values(cm.guidedDenoiser(fake, 1)(x, sigma, [0, 2])));
  });

  it('refuses weights below 0 naming which, and images without classes', () => {
    expect(() => cm.autoAndClassGuidedDenoiser(fake, weak, 2, -1)).toThrow(/classGuidance must be a number >= 0.*got -1/);
    expect(() => cm.autoAndClassGuidedDenoiser(fake, weak, -2, 1)).toThrow(/^guidance must be a number >= 0.*got -2/);
    expect(() => cm.autoAndClassGuidedDenoiser(fake, weak, 2, 1)(x, sigma)).toThrow(/classGuidance needs a class per image/);
  });
});

describe('guidance in sampling and distillation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onestep-guidance-'));
  const teacherFile = join(dir, 'teacher.safetensors'), plainTeacher = join(dir, 'plain-teacher.safetensors');
  const teacher = new cm.Trainer(cm.trainConfig({ recipe: 'edm', batch: 4, steps: 1, classConditional: true }), labelledDataset());
  teacher.trainStep();
  teacher.exportEma(teacherFile);
  const plain = new cm.Trainer(cm.trainConfig({ recipe: 'edm', batch: 4, steps: 1 }), labelledDataset());
  plain.trainStep();
  plain.exportEma(plainTeacher);
  const weakTeacher = join(dir, 'weak-teacher.safetensors');
  new cm.Trainer(cm.trainConfig({ recipe: 'edm', batch: 4, steps: 1, seed: 5 }), labelledDataset()).exportEma(weakTeacher);

  it('a class-conditional teacher samples with guidance: w = 0 as without, w > 0 otherwise, the same for every chunk size', () => {
    const draw = (guidance: number | undefined, batch = 3) =>
      Array.from(cm.loadImageSource(teacherFile, { steps: 2, guidance }).draw(3, new Generator(4), batch, [0, 1, 2]).toArray());
    expect(draw(0)).toEqual(draw(undefined));
    expect(draw(2)).not.toEqual(draw(0));
    expect(draw(2, 1)).toEqual(draw(2, 3));
    const source = cm.loadImageSource(teacherFile, { steps: 2, guidance: 2 });
    expect([source.describe, source.metadata.guidance]).toEqual(['2 Heun steps of the EDM teacher, guidance 2', '2']);
    expect(() => source.draw(3, new Generator(4))).toThrow(/guidance needs classes to guide towards/);
  });

  it('refuses guidance for an unconditional teacher and a consistency model, naming the file', () => {
    expect(() => cm.loadImageSource(plainTeacher, { guidance: 1 })).toThrow(/guidance needs a class-conditional teacher; .*plain-teacher.safetensors is not one/);
    const student = new cm.Trainer(cm.trainConfig({ recipe: 'ict', batch: 4, steps: 1 }), labelledDataset());
    student.exportEma(join(dir, 'student.safetensors'));
    expect(() => cm.loadImageSource(join(dir, 'student.safetensors'), { guidance: 1 })).toThrow(/guidance is for an EDM teacher's sampler; .*is a consistency model/);
  });

  it('distill --guidance: a class-conditional student learns the guided teacher (not the plain one), resumes exactly, records w', () => {
    const config = (guidance?: number) => cm.trainConfig({ recipe: 'cd', teacher: teacherFile, batch: 4, steps: 4, classConditional: true, intervals: 4, seed: 2, guidance });
    const guided = new cm.Trainer(config(3), labelledDataset()), unguided = new cm.Trainer(config(undefined), labelledDataset());
    const losses = [guided.trainStep().loss, guided.trainStep().loss];
    expect(losses).not.toEqual([unguided.trainStep().loss, unguided.trainStep().loss]);
    guided.save(join(dir, 'cd-checkpoint.safetensors'));
    losses.push(guided.trainStep().loss, guided.trainStep().loss);
    const resumed = cm.Trainer.resume(join(dir, 'cd-checkpoint.safetensors'), labelledDataset());
    expect([resumed.trainStep().loss, resumed.trainStep().loss]).toEqual(losses.slice(2));
    guided.exportEma(join(dir, 'guided.safetensors'));
    expect(cm.loadConsistencyModel(join(dir, 'guided.safetensors')).metadata.guidance).toBe('3');
    expect(() => cm.trainConfig({ recipe: 'cd', teacher: teacherFile, guidance: 1 })).toThrow(/guidance distills a class-conditional teacher into a class-conditional student/);
    expect(() => new cm.Trainer(config(-2), labelledDataset())).toThrow(/guidance must be a number >= 0/);
  });

  it('an unconditional teacher samples autoguided by a weaker teacher (guideWith): w = 0 as without, no classes needed', () => {
    const draw = (guidance: number | undefined, guideWith?: string, batch = 3) =>
      Array.from(cm.loadImageSource(plainTeacher, { steps: 2, guidance, guideWith }).draw(3, new Generator(4), batch).toArray());
    expect(draw(0, weakTeacher)).toEqual(draw(undefined));
    expect(draw(1.5, weakTeacher)).not.toEqual(draw(undefined));
    expect(draw(1.5, weakTeacher, 1)).toEqual(draw(1.5, weakTeacher, 3));
    const source = cm.loadImageSource(plainTeacher, { steps: 2, guidance: 1.5, guideWith: weakTeacher });
    expect([source.describe, source.metadata.guidance, source.metadata.guide_with]).toEqual([`2 Heun steps of the EDM teacher, autoguidance 1.5 by ${weakTeacher}`, '1.5', weakTeacher]);
  });

  it('refuses a guiding model without a weight, of another kind, or not a teacher, and guideWith for a consistency model', () => {
    expect(() => cm.loadImageSource(plainTeacher, { guideWith: weakTeacher })).toThrow(/guideWith .*weak-teacher.safetensors guides the teacher with a weight: give guidance w too/);
    expect(() => cm.loadImageSource(plainTeacher, { guidance: 1, guideWith: teacherFile })).toThrow(/the guiding teacher .*[/]teacher.safetensors makes 1x8x8 images of the classes a, b, c; the teacher .*plain-teacher.safetensors makes 1x8x8 images, unconditional/);
    const student = new cm.Trainer(cm.trainConfig({ recipe: 'ict', batch: 4, steps: 1 }), labelledDataset());
    student.exportEma(join(dir, 'student2.safetensors'));
    expect(() => cm.loadImageSource(plainTeacher, { guidance: 1, guideWith: join(dir, 'student2.safetensors') })).toThrow(/the guiding model .*student2.safetensors is not an EDM teacher file/);
    expect(() => cm.loadImageSource(plainTeacher, { guidance: 1, guideWith: plainTeacher })).toThrow(/guideWith .*plain-teacher.safetensors is the teacher itself, and a teacher guided by itself is the unguided teacher/);
    expect(() => cm.loadImageSource(join(dir, 'student2.safetensors'), { guidance: 1, guideWith: weakTeacher })).toThrow(/guideWith \(autoguidance\) is for an EDM teacher's sampler; .*is a consistency model/);
  });

  it('a class-conditional teacher samples autoguided by a weaker one plus classifier-free guidance (classGuidance), with classes only', () => {
    const weakCond = join(dir, 'weak-cond-teacher.safetensors');
    new cm.Trainer(cm.trainConfig({ recipe: 'edm', batch: 4, steps: 1, seed: 5, classConditional: true }), labelledDataset()).exportEma(weakCond);
    const draw = (classGuidance: number | undefined, batch = 3) =>
      Array.from(cm.loadImageSource(teacherFile, { steps: 2, guidance: 1.5, guideWith: weakCond, classGuidance }).draw(3, new Generator(4), batch, [0, 1, 2]).toArray());
    expect(draw(0)).toEqual(draw(undefined));
    expect(draw(0.5)).not.toEqual(draw(0));
    expect(draw(0.5, 1)).toEqual(draw(0.5, 3));
    const source = cm.loadImageSource(teacherFile, { steps: 2, guidance: 1.5, guideWith: weakCond, classGuidance: 0.5 });
    expect([source.describe, source.metadata.class_guidance]).toEqual([`2 Heun steps of the EDM teacher, autoguidance 1.5 by ${weakCond} and classifier-free guidance 0.5`, '0.5']);
    expect(() => source.draw(3, new Generator(4))).toThrow(/guidance needs classes to guide towards/);
    expect(() => cm.loadImageSource(teacherFile, { guidance: 1, classGuidance: 0.5 })).toThrow(/classGuidance adds classifier-free guidance to autoguidance: give the weaker teacher too/);
    expect(() => cm.loadImageSource(plainTeacher, { guidance: 1, guideWith: weakTeacher, classGuidance: 0.5 })).toThrow(/classGuidance needs a class-conditional teacher; .*plain-teacher.safetensors is not one/);
    expect(() => cm.loadImageSource(teacherFile, { guidance: 1, guideWith: weakCond, classGuidance: -1 })).toThrow(/classGuidance must be a number >= 0/);

    const config = (classGuidance?: number) =>
      cm.trainConfig({ recipe: 'cd', teacher: teacherFile, batch: 4, steps: 2, classConditional: true, intervals: 4, seed: 2, guidance: 1.5, guideWith: weakCond, classGuidance });
    const both = new cm.Trainer(config(0.5), labelledDataset()), autoOnly = new cm.Trainer(config(undefined), labelledDataset());
    expect([both.trainStep().loss, both.trainStep().loss]).not.toEqual([autoOnly.trainStep().loss, autoOnly.trainStep().loss]);
    both.exportEma(join(dir, 'both.safetensors'));
    const { metadata } = cm.loadConsistencyModel(join(dir, 'both.safetensors'));
    expect([metadata.guidance, metadata.guide_with, metadata.class_guidance]).toEqual(['1.5', weakCond, '0.5']);
    expect(() => cm.trainConfig({ recipe: 'cd', teacher: teacherFile, classConditional: true, guidance: 1, classGuidance: 0.5 })).toThrow(/classGuidance adds classifier-free guidance to autoguidance/);
    expect(() => cm.trainConfig({ recipe: 'cd', teacher: plainTeacher, guidance: 1, guideWith: weakTeacher, classGuidance: 0.5 })).toThrow(/classGuidance distills a class-conditional teacher into a class-conditional student/);
  });

  it('distill --guide-with: an unconditional student learns the autoguided teacher, resumes exactly, records the guide', () => {
    const config = (guidance?: number, guideWith?: string) => cm.trainConfig({ recipe: 'cd', teacher: plainTeacher, batch: 4, steps: 4, intervals: 4, seed: 2, guidance, guideWith });
    const guided = new cm.Trainer(config(1.5, weakTeacher), labelledDataset()), plainRun = new cm.Trainer(config(), labelledDataset());
    const losses = [guided.trainStep().loss, guided.trainStep().loss];
    expect(losses).not.toEqual([plainRun.trainStep().loss, plainRun.trainStep().loss]);
    guided.save(join(dir, 'auto-checkpoint.safetensors'));
    losses.push(guided.trainStep().loss, guided.trainStep().loss);
    const resumed = cm.Trainer.resume(join(dir, 'auto-checkpoint.safetensors'), labelledDataset());
    expect([resumed.trainStep().loss, resumed.trainStep().loss]).toEqual(losses.slice(2));
    guided.exportEma(join(dir, 'autoguided.safetensors'));
    const { metadata } = cm.loadConsistencyModel(join(dir, 'autoguided.safetensors'));
    expect([metadata.guidance, metadata.guide_with]).toEqual(['1.5', weakTeacher]);
    expect(() => cm.trainConfig({ recipe: 'cd', teacher: plainTeacher, guideWith: weakTeacher })).toThrow(/guideWith guides the teacher with a weight: give guidance w too/);
    expect(() => new cm.Trainer(config(1, join(dir, 'student2.safetensors')), labelledDataset())).toThrow(/the guiding model .*student2.safetensors is not an EDM teacher file/);
    expect(() => new cm.Trainer(config(1, teacherFile), labelledDataset())).toThrow(/the guiding teacher .*[/]teacher.safetensors makes 1x8x8 images of the classes a, b, c; the teacher .*plain-teacher.safetensors makes 1x8x8 images, unconditional/);
  });
});
