import { noGrad } from '../autograd/grad-mode';
import { full, tensor } from '../tensor/create';
import type { Generator } from '../tensor/random';
import { tidy } from '../tensor/scope';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import type { ConsistencyFunction } from './parametrization';
import { sample } from './sample';
import { defaultSampleBatch, inChunks, labelRows } from './chunks';
import { SIGMA_MAX } from './schedule';

// Zero-shot editing with any consistency model (CT or CD), as the official code's iterative
// algorithms: the multistep sampler with x0 <- R(y, clip(f(x, tau))) after every step, R putting
// back what is known of the image y (docs/contracts.md, Consistency models). Each works on a batch [B, C, H, W] in
// [-1, 1] and is deterministic for a generator's seed.

/** Noise levels of the editing loop: more steps than plain sampling, so the known part can steer. */
export const EDIT_SIGMAS: readonly number[] = [80, 40, 20, 10, 5, 2.5, 1.25, 0.6];

export interface EditOptions {
  generator: Generator;
  sigmas?: readonly number[];
  /** Images per network evaluation (default: defaultSampleBatch); the result does not depend on it. */
  batch?: number;
  /** A class-conditional model: one label per image (absent: unconditional). */
  labels?: ArrayLike<number>;
}

/** Rows first .. first + count - 1 of a per-image tensor; a tensor of one row broadcasts to all. */
function rows(t: Tensor, first: number, count: number): Tensor {
  return t.shape[0] === 1 ? t : t.slice([first], [first + count]);
}

function imageShape(op: string, y: Tensor): [number, number, number] {
  if (y.ndim !== 4) throw new Error(`${op}: images must be [B, C, H, W], got ${formatShape(y.shape)}.`);
  return y.shape.slice(1) as [number, number, number];
}

/** Fills the pixels where mask is 0; mask (1 = known) broadcasts against y, e.g. [1, 1, H, W]. */
export function inpaint(f: ConsistencyFunction, y: Tensor, mask: Tensor, opts: EditOptions): Tensor {
  const shape = imageShape('inpaint', y);
  return tidy(() => {
    const keep = mask.cast(y.dtype);
    const fill = keep.neg().add(1);
    return sample(f, {
      count: y.shape[0]!, shape, generator: opts.generator, sigmas: opts.sigmas ?? EDIT_SIGMAS, batch: opts.batch, labels: opts.labels,
      replace: (x0, first) => {
        const n = x0.shape[0]!;
        return rows(keep, first, n).mul(rows(y, first, n)).add(rows(fill, first, n).mul(x0));
      },
    });
  });
}

/** The mean of each k x k block: [B, C, H, W] -> [B, C, H/k, W/k]. */
export function blockMeans(x: Tensor, k: number): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  if (h % k !== 0 || w % k !== 0) throw new Error(`blockMeans: ${h}x${w} images do not split into ${k}x${k} blocks.`);
  return x.reshape([b, c, h / k, k, w / k, k]).mean([3, 5]);
}

/** Each value repeated over a k x k block: [B, C, h, w] -> [B, C, k h, k w]. */
export function repeatBlocks(x: Tensor, k: number): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return x.reshape([b, c, h, 1, w, 1]).expand([b, c, h, k, w, k]).reshape([b, c, h * k, w * k]);
}

/**
 * Super-resolution from block means: `low` holds the mean of every k x k block of the wanted image.
 * In a per-block orthogonal basis whose first vector is uniform, the first coefficient (the mean)
 * comes from low and the others from the model: x0 - repeat(mean(x0)) + repeat(low).
 */
export function superResolve(f: ConsistencyFunction, low: Tensor, k: number, opts: EditOptions): Tensor {
  const [c, h, w] = imageShape('superResolve', low);
  return tidy(() => {
    const known = repeatBlocks(low, k);
    return sample(f, {
      count: low.shape[0]!, shape: [c, h * k, w * k], generator: opts.generator, sigmas: opts.sigmas ?? EDIT_SIGMAS, batch: opts.batch, labels: opts.labels,
      replace: (x0, first) => x0.sub(repeatBlocks(blockMeans(x0, k), k)).add(rows(known, first, x0.shape[0]!)),
    });
  });
}

/** ITU-R 601 luma weights of R, G, B. */
export const LUMA = [0.2989, 0.587, 0.114] as const;

/** Luminance of RGB images: [B, 3, H, W] -> [B, 1, H, W]. */
export function luminance(x: Tensor): Tensor {
  if (x.shape[1] !== 3) throw new Error(`luminance: images must have 3 channels (RGB), got ${formatShape(x.shape)}.`);
  return x.mul(tensor(LUMA, { shape: [1, 3, 1, 1], dtype: x.dtype })).sum(1, true);
}

/**
 * Colorization: gray [B, 1, H, W] is the luminance to keep. In an orthogonal colour basis whose
 * first vector is the normalised luma weights w, that coordinate comes from gray and the two
 * others from the model: x0 + w (gray - w.x0) / |w|^2.
 */
export function colorize(f: ConsistencyFunction, gray: Tensor, opts: EditOptions): Tensor {
  const [c, h, w] = imageShape('colorize', gray);
  if (c !== 1) throw new Error(`colorize: the known image is one luminance channel [B, 1, H, W], got ${formatShape(gray.shape)}.`);
  const norm2 = LUMA.reduce((s, v) => s + v * v, 0);
  return tidy(() => {
    const direction = tensor(LUMA.map((v) => v / norm2), { shape: [1, 3, 1, 1], dtype: gray.dtype });
    return sample(f, {
      count: gray.shape[0]!, shape: [3, h, w], generator: opts.generator, sigmas: opts.sigmas ?? EDIT_SIGMAS, batch: opts.batch, labels: opts.labels,
      replace: (x0, first) => x0.add(direction.mul(rows(gray, first, x0.shape[0]!).sub(luminance(x0)))),
    });
  });
}

/** Denoising: one step of the model from y = x + sigma z at the known level sigma. */
export function denoise(
  f: ConsistencyFunction, noisy: Tensor, sigma: number, batch = defaultSampleBatch(imageShape('denoise', noisy)), labels?: ArrayLike<number>,
): Tensor {
  const n = noisy.shape[0]!;
  return inChunks(n, batch, (first, count) => noGrad(() => tidy(() =>
    f(rows(noisy, first, count), full([count], sigma), labelRows(labels, n, first, count)).clamp(-1, 1))));
}

/** Spherical interpolation between two latents, sample by sample, at each fraction in `alphas`. */
export function slerp(z1: Float32Array, z2: Float32Array, alpha: number): Float32Array {
  let dot = 0, n1 = 0, n2 = 0;
  for (let i = 0; i < z1.length; i++) {
    dot += z1[i]! * z2[i]!;
    n1 += z1[i]! * z1[i]!;
    n2 += z2[i]! * z2[i]!;
  }
  const theta = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(n1 * n2))));
  const out = new Float32Array(z1.length);
  if (theta < 1e-6) {
    for (let i = 0; i < out.length; i++) out[i] = (1 - alpha) * z1[i]! + alpha * z2[i]!;
    return out;
  }
  const a = Math.sin((1 - alpha) * theta) / Math.sin(theta), b = Math.sin(alpha * theta) / Math.sin(theta);
  for (let i = 0; i < out.length; i++) out[i] = a * z1[i]! + b * z2[i]!;
  return out;
}

/**
 * Interpolation: for each pair (z1[i], z2[i]) of latents [B, C, H, W] and each alpha, one step
 * from T slerp(z1, z2, alpha). Returns [B * alphas.length, C, H, W], pair by pair.
 */
export function interpolateLatents(
  f: ConsistencyFunction, z1: Tensor, z2: Tensor, alphas: readonly number[], batch = defaultSampleBatch(imageShape('interpolateLatents', z1)),
  labels?: ArrayLike<number>,
): Tensor {
  if (z1.shape.join() !== z2.shape.join()) throw new Error(`interpolateLatents: latents ${formatShape(z1.shape)} and ${formatShape(z2.shape)} differ.`);
  const [b, c, h, w] = z1.shape as [number, number, number, number];
  const per = c * h * w;
  const a = z1.toArray() as Float32Array, bz = z2.toArray() as Float32Array;
  const latents = new Float32Array(b * alphas.length * per);
  for (let i = 0; i < b; i++) {
    alphas.forEach((alpha, j) => {
      latents.set(slerp(a.subarray(i * per, (i + 1) * per), bz.subarray(i * per, (i + 1) * per), alpha), (i * alphas.length + j) * per);
    });
  }
  // a pair's label for each of its points
  const pairLabels = labelRows(labels, b, 0, b);
  const pointLabels = pairLabels && Array.from({ length: b * alphas.length }, (_, k) => pairLabels[Math.floor(k / alphas.length)]!);
  return inChunks(b * alphas.length, batch, (first, count) => noGrad(() => tidy(() =>
    f(tensor(latents.subarray(first * per, (first + count) * per), { shape: [count, c, h, w] }).mul(SIGMA_MAX), full([count], SIGMA_MAX),
      labelRows(pointLabels, b * alphas.length, first, count)).clamp(-1, 1))));
}
