import { arange } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';
import { add, cos, mul, sin, sqrt, square, sub } from '../ops/elementwise';
import { concat, reshape, unsqueeze } from '../ops/movement';
import { interpolate } from '../ops/resample';
import { Conv2d, type ConvFusion, Embedding, GroupNorm, type InitOptions, labelsOrNone, Linear, Sequential, SiLU } from './layers';
import { Module } from './module';

export interface SimpleUNetConfig {
  /** Image channels C. */
  channels: number;
  /** Base width D (a multiple of 32, for GroupNorm(32, .)). */
  width: number;
  /**
   * Class-conditional when set (K classes): `label_emb.weight` [K + 1, 2D] is added to the time
   * embedding; row K is "no label" (label dropout in training, unconditional sampling).
   */
  numClasses?: number;
}

/** blk(i, o) = GN(32, i), SiLU, conv3x3(i, o), GN(32, o), SiLU, conv3x3(o, o). */
function block(i: number, o: number, init: InitOptions): Sequential {
  return new Sequential(
    new GroupNorm(32, i), new SiLU(), new Conv2d(i, o, 3, { ...init, padding: 1 }),
    new GroupNorm(32, o), new SiLU(), new Conv2d(o, o, 3, { ...init, padding: 1 }),
  );
}

class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.addModule(String(i), m));
  }
}

/**
 * The small U-Net of the community consistency-model repository, with exactly its PyTorch
 * state-dict names and shapes (docs/contracts.md, Models). Input [B, C, 32, 32] (any size divisible by
 * 4) and noise levels t [B]; output c_skip(t) x + c_out(t) F(x, t).
 */
export class SimpleUNet extends Module {
  readonly down: ModuleList<Conv2d | Sequential>;
  readonly timeDowns: ModuleList<Linear>;
  readonly mid: Sequential;
  readonly up: ModuleList<Conv2d | Sequential>;
  readonly last: Conv2d;
  readonly labelEmb: Embedding | null;

  constructor(readonly config: SimpleUNetConfig, init: InitOptions = {}) {
    super();
    const { channels: C, width: D } = config;
    if (!Number.isInteger(D) || D < 32 || D % 32 !== 0) {
      throw new Error(`SimpleUNet: width ${D} must be a positive multiple of 32 (GroupNorm uses 32 groups).`);
    }
    const conv3 = (i: number, o: number) => new Conv2d(i, o, 3, { ...init, padding: 1 });
    this.down = this.addModule('down', new ModuleList<Conv2d | Sequential>([conv3(C, D), block(D, D, init), block(D, 2 * D, init), block(2 * D, 2 * D, init)]));
    this.timeDowns = this.addModule('time_downs', new ModuleList([
      new Linear(2 * D, D, init), new Linear(2 * D, D, init), new Linear(2 * D, 2 * D, init), new Linear(2 * D, 2 * D, init),
    ]));
    this.mid = this.addModule('mid', block(2 * D, 2 * D, init));
    this.up = this.addModule('up', new ModuleList<Conv2d | Sequential>([block(2 * D, 2 * D, init), block(4 * D, D, init), block(D, D, init), conv3(2 * D, 2 * D)]));
    this.last = this.addModule('last', conv3(2 * D + C, C));
    const K = config.numClasses;
    if (K !== undefined && !(Number.isInteger(K) && K >= 1)) throw new Error(`SimpleUNet: numClasses must be a positive integer, got ${K}.`);
    this.labelEmb = K ? this.addModule('label_emb', new Embedding(K + 1, 2 * D, init)) : null;
  }

  /**
   * t_emb = cat(sin(t f), cos(t f)), f = exp(-ln(10000) arange(D) / D): [B, 2D]; plus
   * label_emb(labels) for a class-conditional model (row K, "no label", when labels are absent).
   */
  timeEmbedding(t: Tensor, labels?: ArrayLike<number>): Tensor {
    const D = this.config.width;
    const freqs = arange(D, undefined, 1, { dtype: t.dtype }).mul(-Math.log(10000) / D).exp();
    const args = mul(unsqueeze(t, 1), unsqueeze(freqs, 0));
    const emb = concat([sin(args), cos(args)], 1);
    if (!this.labelEmb) return emb;
    return add(emb, this.labelEmb.forward(labelsOrNone(labels, t.shape[0]!, this.config.numClasses!, 'SimpleUNet')));
  }

  /**
   * The network body F(x, t) without the skip connection; `last` is folded into the last
   * convolution (forward's c_skip / c_out). A nearest x0.5 down-sampling of a stride-1 3x3
   * convolution's output is that convolution at stride 2 (even sizes), so it runs as one; each
   * residual add, and the time embedding after it, is the epilogue of the convolution before it.
   */
  body(xIn: Tensor, t: Tensor, last?: ConvFusion, labels?: ArrayLike<number>): Tensor {
    const emb = this.timeEmbedding(t, labels);
    const skips: Tensor[] = [];
    let x = xIn;
    this.down.items.forEach((layer, idx) => {
      const te = this.timeDowns.items[idx]!.forward(emb);
      if (idx % 2 === 0) {
        const even = x.shape[2]! % 2 === 0 && x.shape[3]! % 2 === 0;
        // the skip is taken before the time embedding is added
        x = even ? layer.forward(x, { stride: 2 }) : interpolate(layer.forward(x), { scaleFactor: 0.5 });
        skips.push(x);
        x = add(x, reshape(te, [te.shape[0]!, te.shape[1]!, 1, 1]));
      } else {
        x = layer.forward(x, { residual: x, channelAdd: te });
      }
    });
    x = this.mid.forward(x);
    this.up.items.forEach((layer, idx) => {
      if (idx % 2 === 0) {
        x = layer.forward(x, { residual: x });
      } else {
        x = interpolate(concat([x, skips.pop()!], 1), { scaleFactor: 2 });
        x = layer.forward(x);
      }
    });
    return this.last.forward(concat([x, xIn], 1), last);
  }

  /** c_skip(t) x + c_out(t) F(x, t), s = t - 0.002, c_skip = 0.25/(s^2 + 0.25), c_out = 0.25 s / sqrt((s + 0.002)^2 + 0.25). */
  forward(x: Tensor, t: Tensor, labels?: ArrayLike<number>): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.config.channels) {
      throw new Error(`SimpleUNet: input must be [B, ${this.config.channels}, H, W], got [${x.shape.join(', ')}].`);
    }
    if (t.ndim !== 1 || t.shape[0] !== x.shape[0]) {
      throw new Error(`SimpleUNet: noise levels t must be [${x.shape[0]}] (one per image), got [${t.shape.join(', ')}].`);
    }
    const s = sub(t, 0.002);
    const cSkip = mul(0.25, square(s).add(0.25).reciprocal());
    const cOut = mul(0.25, s).div(sqrt(square(t).add(0.25)));
    if (!t.requiresGrad) return this.body(x, t, { residual: x, residualScale: cSkip, convScale: cOut }, labels);
    return add(mul(reshape(cSkip, [-1, 1, 1, 1]), x), mul(reshape(cOut, [-1, 1, 1, 1]), this.body(x, t, undefined, labels)));
  }
}
