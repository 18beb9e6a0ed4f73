import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { edmSample } from './edm';
import { isTeacherFile, loadConsistencyModel, loadTeacher } from './load';
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
  /** `count` images in [-1, 1], `batch` at a time (the result does not depend on batch). */
  draw(count: number, generator: Generator, batch?: number): Tensor;
}

export interface ImageSourceOptions {
  /** Consistency model: 1, 2 or 5 steps at the default levels (default 1); teacher: Heun steps (default 18). */
  steps?: number;
  /** Consistency model: explicit decreasing noise levels (overrides steps). */
  sigmas?: readonly number[];
}

/** Opens a consistency model or an EDM teacher file for sampling. */
export function loadImageSource(path: string, opts: ImageSourceOptions = {}): ImageSource {
  if (isTeacherFile(path)) {
    const teacher = loadTeacher(path);
    const steps = opts.steps ?? 18;
    return {
      kind: 'teacher', shape: teacher.shape, metadata: teacher.metadata, steps, describe: `${steps} Heun steps of the EDM teacher`,
      draw: (count, generator, batch) => edmSample(teacher.denoiser, { count, shape: teacher.shape, generator, steps, batch }),
    };
  }
  const loaded = loadConsistencyModel(path);
  const sigmas = opts.sigmas ?? samplerLevels(opts.steps ?? 1);
  checkSamplerLevels(sigmas);
  return {
    kind: 'consistency', shape: loaded.shape, metadata: { ...loaded.metadata, sigmas: sigmas.join(',') }, steps: sigmas.length,
    describe: `${sigmas.length} step(s) (levels ${sigmas.join(', ')})`,
    draw: (count, generator, batch) => sample(loaded.f, { count, shape: loaded.shape, generator, sigmas, batch }),
  };
}
