import { Generator } from '../tensor/random';
import { ones, rand, randn, tensor, zeros } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';
import { conv2d, type Conv2dOptions } from '../ops/conv';
import { dropout } from '../ops/dropout';
import { matmul } from '../ops/matmul';
import { silu } from '../ops/elementwise';
import { linear } from '../ops/matmul';
import { groupNorm, groupNormSilu } from '../ops/norm';
import { Module } from './module';

export interface InitOptions {
  generator?: Generator;
  /**
   * The weights will be loaded (loadStateDict) before use: parameters start as zeros, with no random
   * draws (a 300M-parameter UNet is built in a fraction of a second instead of several).
   */
  toBeLoaded?: boolean;
}

/** U(-bound, bound): PyTorch's default for Linear/Conv weights and biases, bound = 1/sqrt(fan_in). */
function uniform(shape: number[], bound: number, opts: InitOptions): Tensor {
  if (opts.toBeLoaded) return zeros(shape);
  return rand(shape, { generator: opts.generator }).mul(2 * bound).sub(bound);
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly opts: InitOptions & { stride?: number; padding?: number; bias?: boolean } = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inChannels * kernelSize * kernelSize);
    this.weight = this.addParameter('weight', uniform([outChannels, inChannels, kernelSize, kernelSize], bound, opts).detach());
    this.bias = opts.bias === false ? undefined : this.addParameter('bias', uniform([outChannels], bound, opts).detach());
  }
  /** `fused`: a stride in place of the layer's own, and an epilogue (Conv2dOptions), in the same kernel. */
  forward(x: Tensor, fused: ConvFusion = {}): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.opts.stride ?? 1, padding: this.opts.padding ?? 0, ...fused });
  }
}

/** What a caller may fold into a convolution's kernel. */
export type ConvFusion = Pick<Conv2dOptions, 'stride' | 'residual' | 'convScale' | 'residualScale' | 'channelAdd'>;

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: InitOptions & { bias?: boolean } = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParameter('weight', uniform([outFeatures, inFeatures], bound, opts).detach());
    this.bias = opts.bias === false ? undefined : this.addParameter('bias', uniform([outFeatures], bound, opts).detach());
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    super();
    if (channels % groups !== 0) throw new Error(`GroupNorm: ${channels} channels cannot be split into ${groups} groups.`);
    this.weight = this.addParameter('weight', ones([channels]));
    this.bias = this.addParameter('bias', zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
  /** silu(this(x)) in one fused op. */
  forwardSilu(x: Tensor): Tensor {
    return groupNormSilu(x, this.groups, this.weight, this.bias, this.eps);
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** A module that maps one tensor to one tensor. */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
}

/** Children named "0", "1", ... applied in order; a GroupNorm followed by a SiLU runs as one fused op. */
export class Sequential extends Module {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers.map((l, i) => this.addModule(String(i), l));
  }
  /** `last`: folded into the last layer, which must then be a Conv2d. */
  forward(x: Tensor, last?: ConvFusion): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      if (layer instanceof GroupNorm && this.layers[i + 1] instanceof SiLU) {
        if (last && i + 1 === this.layers.length - 1) throw new Error('Sequential: only a last Conv2d can take a fused stride or epilogue; the last layer is SiLU.');
        h = layer.forwardSilu(h);
        i++;
      } else if (last && i === this.layers.length - 1) {
        if (!(layer instanceof Conv2d)) throw new Error(`Sequential: only a last Conv2d can take a fused stride or epilogue; the last layer is ${layer.constructor.name}.`);
        h = layer.forward(h, last);
      } else {
        h = layer.forward(h);
      }
    }
    return h;
  }
}

/**
 * Dropout whose mask is drawn from a generator seeded by `seed` (set per pass with setSeed), so
 * a second pass after the same setSeed drops the same values. Identity in eval mode.
 */
export class Dropout extends Module {
  private generator = new Generator(0);
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: probability must be in [0, 1), got ${p}.`);
  }
  setSeed(seed: number): void {
    this.generator = new Generator(seed);
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, this.generator) : x;
  }
}

/** The labels a class-conditional network is given: one per image, K (no label) when none are. */
export function labelsOrNone(labels: ArrayLike<number> | undefined, batch: number, numClasses: number, who: string): ArrayLike<number> {
  if (labels === undefined) return new Array<number>(batch).fill(numClasses);
  if (labels.length !== batch) throw new Error(`${who}: ${labels.length} labels for ${batch} images.`);
  return labels;
}

/** A table of vectors looked up by integer index (PyTorch's Embedding: weight [count, dim], N(0, 1) init). */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly count: number, readonly dim: number, opts: InitOptions = {}) {
    super();
    this.weight = this.addParameter('weight', opts.toBeLoaded ? zeros([count, dim]) : randn([count, dim], { generator: opts.generator }));
  }
  /** Rows for `indices` (integers in 0..count-1): a one-hot product, so the gradient flows to the table. */
  forward(indices: ArrayLike<number>): Tensor {
    const oneHot = new Float32Array(indices.length * this.count);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]!;
      if (!Number.isInteger(k) || k < 0 || k >= this.count) throw new Error(`Embedding: index ${k} is not in 0..${this.count - 1}.`);
      oneHot[i * this.count + k] = 1;
    }
    return matmul(tensor(oneHot, { shape: [indices.length, this.count], dtype: this.weight.dtype }), this.weight);
  }
}
