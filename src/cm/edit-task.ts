import { ConfigError } from '../errors';
import { randn, tensor } from '../tensor/create';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { blockMeans, colorize, denoise, EDIT_SIGMAS, inpaint, interpolateLatents, luminance, repeatBlocks, superResolve } from './edit';
import type { LoadedConsistencyModel } from './load';
import { pickImages, type ImageDataset } from '../data/dataset';
import { sample, SAMPLER_LEVELS } from './sample';

export const EDIT_TASKS = ['inpaint', 'superres', 'denoise', 'interpolate', 'colorize'] as const;
export type EditTask = (typeof EDIT_TASKS)[number];

export interface EditTaskOptions {
  generator: Generator;
  /** The editing loop's noise levels (default EDIT_SIGMAS). */
  sigmas?: readonly number[];
  /** Images per network evaluation. */
  batch?: number;
  /** interpolate: points per pair of latents (default 8). */
  points?: number;
  /** interpolate: pairs of latents (default: as many as originals, else 8). */
  pairs?: number;
  /** denoise: the noise's standard deviation added to the originals (default 0.5). */
  noise?: number;
  /** superres: the side of the blocks whose means are known (default 4). */
  factor?: number;
  /** A class-conditional model: one label per edited image (per pair for interpolate). */
  labels?: ArrayLike<number>;
}

/** The result of an editing task as rows of images: originals, what the model was given, its results. */
export interface EditResult {
  rows: Tensor[];
  /** Images per row. */
  columns: number;
}

/**
 * The images a task edits: none for interpolate (it draws latents) or for colorize with a grey
 * model (refused by runEditTask); else n images of the dataset (loaded only then) picked by seed,
 * or without one the model's own 2-step samples.
 */
export function editOriginals(task: EditTask, model: LoadedConsistencyModel, dataset: () => ImageDataset | null, n: number, seed: number, generator: Generator): Tensor | null {
  if (task === 'interpolate' || (task === 'colorize' && model.shape[0] !== 3)) return null;
  const images = dataset();
  return images ? pickImages(images, n, seed) : sample(model.f, { count: n, shape: model.shape, generator, sigmas: SAMPLER_LEVELS[2] });
}

/**
 * Runs one of the CLI's editing tasks on `originals` [n, C, H, W]: inpaint the lower half,
 * super-resolve from factor x factor block means, denoise Gaussian noise, colorize from the
 * luminance (RGB models); or interpolate between pairs of latents it draws (no originals needed).
 */
export function runEditTask(task: EditTask, model: LoadedConsistencyModel, originals: Tensor | null, opts: EditTaskOptions): EditResult {
  if (!EDIT_TASKS.includes(task)) throw new ConfigError('task', `task must be one of ${EDIT_TASKS.join(', ')}, got '${task}'.`);
  const [channels, size] = model.shape;
  const { generator, batch, labels } = opts;
  const sigmas = opts.sigmas ?? EDIT_SIGMAS;
  if (task === 'colorize' && channels !== 3) {
    throw new ConfigError('task', `colorize needs an RGB model; this one makes ${channels}-channel images (train one on a folder of RGB images: --dataset DIR --channels 3).`);
  }
  if (task === 'interpolate') {
    const points = opts.points ?? 8, pairs = opts.pairs ?? originals?.shape[0] ?? 8;
    const z1 = randn([pairs, ...model.shape], { generator }), z2 = randn([pairs, ...model.shape], { generator });
    return { rows: [interpolateLatents(model.f, z1, z2, Array.from({ length: points }, (_, i) => i / (points - 1)), batch, labels)], columns: points };
  }
  if (!originals) throw new ConfigError('task', `${task} edits given images: pass the originals.`);
  const n = originals.shape[0]!;
  if (task === 'inpaint') {
    const mask = tensor(Array.from({ length: size * size }, (_, i) => (Math.floor(i / size) < size / 2 ? 1 : 0)), { shape: [1, 1, size, size] });
    return { rows: [originals, originals.mul(mask), inpaint(model.f, originals, mask, { generator, sigmas, batch, labels })], columns: n };
  }
  if (task === 'superres') {
    const factor = opts.factor ?? 4;
    const low = blockMeans(originals, factor);
    return { rows: [originals, repeatBlocks(low, factor), superResolve(model.f, low, factor, { generator, sigmas, batch, labels })], columns: n };
  }
  if (task === 'denoise') {
    const std = opts.noise ?? 0.5;
    const noisy = originals.add(randn([...originals.shape], { generator }).mul(std));
    return { rows: [originals, noisy.clamp(-1, 1), denoise(model.f, noisy, std, batch, labels)], columns: n };
  }
  const gray = luminance(originals);
  return { rows: [originals, gray.expand([n, 3, size, size]), colorize(model.f, gray, { generator, sigmas, batch, labels })], columns: n };
}
