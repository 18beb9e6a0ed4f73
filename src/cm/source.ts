import { ConfigError } from '../errors';
import { loadSafetensors } from '../io/safetensors-file';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { edmSample } from './edm';
import { teacherDenoiser } from './guided-teacher';
import { isTeacherFile, loadConsistencyModel, loadTeacher } from './load-file';
import { checkSamplerLevels, sample, samplerLevels } from './sample';

/** What sample and eval draw images from: a consistency model (its noise levels) or an EDM teacher (Heun steps). */
export interface ImageSource {
  kind: 'consistency' | 'teacher';
  shape: [number, number, number];
  /** The file's metadata, plus the sampler's `sigmas` for a consistency model. */
  metadata: Record<string, string>;
  /** Sampler steps: noise levels of a consistency model, Heun steps of a teacher. */
  steps: number;
  /** The sampler in words, e.g. "2 step(s) (levels 80, 0.8)". */
  describe: string;
  /** A class-conditional model: its classes and their names. */
  numClasses?: number;
  classNames?: string[];
  /** `count` images in [-1, 1], `batch` at a time (the result does not depend on batch); labels: one per image, for a class-conditional model. */
  draw(count: number, generator: Generator, batch?: number, labels?: ArrayLike<number>): Tensor;
}

export interface ImageSourceOptions {
  /** Consistency model: 1, 2 or 5 steps at the default levels (default 1); teacher: Heun steps (default 18). */
  steps?: number;
  /** Consistency model: explicit decreasing noise levels (overrides steps). */
  sigmas?: readonly number[];
  /** A class-conditional teacher: classifier-free guidance weight w (guidance.ts); draw then needs labels. With guideWith: the autoguidance weight. */
  guidance?: number;
  /** Autoguidance (guidance.ts): a weaker EDM teacher file of the same kind that guides the teacher with weight `guidance`, instead of the "no label" row. */
  guideWith?: string;
  /** With guideWith, a class-conditional teacher: the classifier-free direction's weight added to the autoguided denoiser (guidance.ts); draw then needs labels. */
  classGuidance?: number;
}

/** Opens a consistency model or an EDM teacher file for sampling. */
export function loadImageSource(path: string, opts: ImageSourceOptions = {}): ImageSource {
  // labels only for a class-conditional model, each one of its classes (no labels: unconditional)
  const checked = (labels: ArrayLike<number> | undefined, numClasses?: number): ArrayLike<number> | undefined => {
    if (labels === undefined) return undefined;
    if (!numClasses) throw new ConfigError('class', `class ${labels[0]} needs a class-conditional model; ${path} is not one (sample it without classes).`);
    const bad = Array.from(labels).find((k) => !(Number.isInteger(k) && k >= 0 && k < numClasses));
    if (bad !== undefined) throw new ConfigError('class', `class ${bad} is not one of ${path}'s classes 0..${numClasses - 1}.`);
    return labels;
  };
  if (isTeacherFile(path)) {
    const teacher = loadTeacher(path);
    const steps = opts.steps ?? 18, { guidance, guideWith, classGuidance } = opts;
    const denoiser = teacherDenoiser(teacher, path, { guidance, guideWith, classGuidance }, loadSafetensors);
    const needsLabels = (guidance !== undefined && guideWith === undefined) || classGuidance !== undefined;
    const guided = (labels: ArrayLike<number> | undefined) => {
      if (needsLabels && labels === undefined) throw new ConfigError('guidance', 'guidance needs classes to guide towards (give the classes of the images).');
      return checked(labels, teacher.spec.numClasses);
    };
    const how = (guidance === undefined ? '' : guideWith === undefined ? `, guidance ${guidance}` : `, autoguidance ${guidance} by ${guideWith}`) +
      (classGuidance === undefined ? '' : ` and classifier-free guidance ${classGuidance}`);
    return {
      kind: 'teacher', shape: teacher.shape, steps, describe: `${steps} Heun steps of the EDM teacher${how}`,
      metadata: { ...teacher.metadata, ...(guidance !== undefined && { guidance: String(guidance) }), ...(guideWith !== undefined && { guide_with: guideWith }),
        ...(classGuidance !== undefined && { class_guidance: String(classGuidance) }) },
      numClasses: teacher.spec.numClasses, classNames: teacher.classNames,
      draw: (count, generator, batch, labels) => edmSample(denoiser, { count, shape: teacher.shape, generator, steps, batch, labels: guided(labels) }),
    };
  }
  if (opts.guideWith !== undefined) throw new ConfigError('guideWith', `guideWith (autoguidance) is for an EDM teacher's sampler; ${path} is a consistency model (sample an EDM teacher file; a model distilled with guideWith has the guidance built in).`);
  if (opts.classGuidance !== undefined) throw new ConfigError('classGuidance', `classGuidance is for an EDM teacher's sampler; ${path} is a consistency model (one distilled with distill --class-guidance has it built in).`);
  if (opts.guidance !== undefined) {
    throw new ConfigError('guidance', `guidance is for an EDM teacher's sampler; ${path} is a consistency model (one distilled with distill --guidance has it built in).`);
  }
  const loaded = loadConsistencyModel(path);
  const sigmas = opts.sigmas ?? samplerLevels(opts.steps ?? 1);
  checkSamplerLevels(sigmas);
  return {
    kind: 'consistency', shape: loaded.shape, metadata: { ...loaded.metadata, sigmas: sigmas.join(',') }, steps: sigmas.length,
    describe: `${sigmas.length} step(s) (levels ${sigmas.join(', ')})`, numClasses: loaded.numClasses, classNames: loaded.classNames,
    draw: (count, generator, batch, labels) => sample(loaded.f, { count, shape: loaded.shape, generator, sigmas, batch, labels: checked(labels, loaded.numClasses) }),
  };
}
