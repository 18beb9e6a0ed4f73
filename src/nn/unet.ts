import { arange } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';
import { add, cos, mul, silu, sin } from '../ops/elementwise';
import { concat, reshape, slice, transpose, unsqueeze } from '../ops/movement';
import { matmul } from '../ops/matmul';
import { interpolate } from '../ops/resample';
import { softmax } from '../ops/softmax';
import { Conv2d, Dropout, Embedding, GroupNorm, type InitOptions, labelsOrNone, Linear, SiLU } from './layers';
import { Module } from './module';

// The ADM-style U-Net of the official consistency-model code (guided-diffusion's UNetModel),
// sized by config, with its module names: time_embed, label_emb, input_blocks, middle_block,
// output_blocks, out. Differences: attention's qkv/proj_out are 1x1 Conv2d ([o, i, 1, 1]) where
// ADM uses Conv1d ([o, i, 1]); no checkpointing, no fp16, no up/down-sampling ResBlocks.

export interface UNetConfig {
  /** Image channels (in and out). */
  channels: number;
  /** Base width (a multiple of 32, for GroupNorm(32, .)). */
  modelChannels: number;
  /** Width multiplier per resolution level, e.g. [1, 2, 2]. */
  channelMult: number[];
  numResBlocks: number;
  /** Down-sampling factors at which blocks get self-attention, e.g. [2] = at half resolution. */
  attentionResolutions: number[];
  dropout: number;
  numHeads: number;
  /**
   * Class-conditional when set (K classes): `label_emb.weight` [K + 1, 4 modelChannels] is added to
   * the time embedding; row K is "no label" (label dropout, unconditional sampling).
   */
  numClasses?: number;
}

export const DEFAULT_UNET_CONFIG: UNetConfig = {
  channels: 1, modelChannels: 32, channelMult: [1, 2, 2], numResBlocks: 1, attentionResolutions: [2], dropout: 0.1, numHeads: 1,
};

/** conv3x3 with zero weights and bias: a block's last layer starts as the identity path. */
function zeroConv(i: number, o: number, k: number, init: InitOptions): Conv2d {
  const conv = new Conv2d(i, o, k, { ...init, padding: (k - 1) / 2 });
  for (const p of conv.parameters()) p.assign(p.raw.mulScalar(0));
  return conv;
}

/** Sequential of ResBlocks, attention and resampling, passing the embedding to ResBlocks. */
class Blocks extends Module {
  readonly items: Module[];
  constructor(items: Module[]) {
    super();
    this.items = items.map((m, i) => this.addModule(String(i), m));
  }
  forward(x: Tensor, emb: Tensor): Tensor {
    return this.items.reduce((h, m) => (m instanceof ResBlock ? m.forward(h, emb) : (m as unknown as { forward(t: Tensor): Tensor }).forward(h)), x);
  }
}

class Seq extends Module {
  constructor(readonly items: (Module | null)[]) {
    super();
    items.forEach((m, i) => m && this.addModule(String(i), m));
  }
}

/** GN -> SiLU -> conv; time embedding -> (scale, shift); GN * (1 + scale) + shift -> SiLU -> dropout -> zero conv; + skip. */
class ResBlock extends Module {
  private readonly inNorm: GroupNorm;
  private readonly inConv: Conv2d;
  private readonly embLinear: Linear;
  private readonly outNorm: GroupNorm;
  readonly drop: Dropout;
  private readonly outConv: Conv2d;
  private readonly skip: Conv2d | null;
  constructor(readonly inCh: number, readonly outCh: number, embDim: number, dropoutP: number, init: InitOptions) {
    super();
    this.inNorm = new GroupNorm(32, inCh);
    this.inConv = new Conv2d(inCh, outCh, 3, { ...init, padding: 1 });
    this.addModule('in_layers', new Seq([this.inNorm, new SiLU(), this.inConv]));
    this.embLinear = new Linear(embDim, 2 * outCh, init);
    this.addModule('emb_layers', new Seq([new SiLU(), this.embLinear]));
    this.outNorm = new GroupNorm(32, outCh);
    this.drop = new Dropout(dropoutP);
    this.outConv = zeroConv(outCh, outCh, 3, init);
    this.addModule('out_layers', new Seq([this.outNorm, new SiLU(), this.drop, this.outConv]));
    this.skip = inCh === outCh ? null : this.addModule('skip_connection', new Conv2d(inCh, outCh, 1, init));
  }
  forward(x: Tensor, emb: Tensor): Tensor {
    let h = this.inConv.forward(this.inNorm.forwardSilu(x));
    const e = this.embLinear.forward(silu(emb));
    const b = e.shape[0]!;
    const scale = reshape(slice(e, [0, 0], [b, this.outCh]), [b, this.outCh, 1, 1]);
    const shift = reshape(slice(e, [0, this.outCh], [b, 2 * this.outCh]), [b, this.outCh, 1, 1]);
    h = add(mul(this.outNorm.forward(h), scale.add(1)), shift);
    h = this.outConv.forward(this.drop.forward(silu(h)));
    return add(this.skip ? this.skip.forward(x) : x, h);
  }
}

/** Multi-head self-attention over the H W positions, with a zero-initialised output projection. */
class AttentionBlock extends Module {
  private readonly norm: GroupNorm;
  private readonly qkv: Conv2d;
  private readonly projOut: Conv2d;
  constructor(readonly ch: number, readonly heads: number, init: InitOptions) {
    super();
    if (ch % heads !== 0) throw new Error(`AttentionBlock: ${ch} channels do not split into ${heads} heads.`);
    this.norm = this.addModule('norm', new GroupNorm(32, ch));
    this.qkv = this.addModule('qkv', new Conv2d(ch, 3 * ch, 1, init));
    this.projOut = this.addModule('proj_out', zeroConv(ch, ch, 1, init));
  }
  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const d = c / this.heads, n = h * w;
    const qkv = reshape(this.qkv.forward(this.norm.forward(x)), [b * this.heads, 3 * d, n]);
    const q = slice(qkv, [0, 0], [b * this.heads, d]), k = slice(qkv, [0, d], [b * this.heads, 2 * d]), v = slice(qkv, [0, 2 * d]);
    const weights = softmax(matmul(transpose(q), k).mul(1 / Math.sqrt(d)), -1); // [BH, n (query), n (key)]
    const out = matmul(v, transpose(weights)); // [BH, d, n]
    return add(x, this.projOut.forward(reshape(out, [b, c, h, w])));
  }
}

class Downsample extends Module {
  readonly op: Conv2d;
  constructor(ch: number, init: InitOptions) {
    super();
    this.op = this.addModule('op', new Conv2d(ch, ch, 3, { ...init, stride: 2, padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return this.op.forward(x);
  }
}

class Upsample extends Module {
  readonly conv: Conv2d;
  constructor(ch: number, init: InitOptions) {
    super();
    this.conv = this.addModule('conv', new Conv2d(ch, ch, 3, { ...init, padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(interpolate(x, { scaleFactor: 2 }));
  }
}

/**
 * The ADM-style U-Net: F(x, t, labels?) -> same shape as x. `t` is the network's time input
 * per image (the official parametrization passes c_noise_scale ln sigma). Dropout masks come from
 * setDropoutSeed, so the online and target passes of a CT step can share them.
 */
export class UNet extends Module {
  private readonly timeLinear1: Linear;
  private readonly timeLinear2: Linear;
  private readonly labelEmb: Embedding | null;
  private readonly inputBlocks: Blocks[] = [];
  private readonly middle: Blocks;
  private readonly outputBlocks: Blocks[] = [];
  private readonly outNorm: GroupNorm;
  private readonly outConv: Conv2d;
  readonly config: UNetConfig;

  constructor(config: Partial<UNetConfig> = {}, init: InitOptions = {}) {
    super();
    const cfg = { ...DEFAULT_UNET_CONFIG, ...config };
    this.config = cfg;
    const mc = cfg.modelChannels, embDim = 4 * mc;
    if (!Number.isInteger(mc) || mc < 32 || mc % 32 !== 0) throw new Error(`UNet: modelChannels ${mc} must be a positive multiple of 32.`);
    if (cfg.channelMult.some((m) => !Number.isInteger(m) || m < 1)) throw new Error(`UNet: channelMult [${cfg.channelMult}] must be positive integers.`);
    this.timeLinear1 = new Linear(mc, embDim, init);
    this.timeLinear2 = new Linear(embDim, embDim, init);
    this.addModule('time_embed', new Seq([this.timeLinear1, new SiLU(), this.timeLinear2]));
    if (cfg.numClasses !== undefined && !(Number.isInteger(cfg.numClasses) && cfg.numClasses >= 1)) throw new Error(`UNet: numClasses must be a positive integer, got ${cfg.numClasses}.`);
    this.labelEmb = cfg.numClasses ? this.addModule('label_emb', new Embedding(cfg.numClasses + 1, embDim, init)) : null;

    const skips: number[] = [mc];
    let ch = mc, ds = 1;
    this.inputBlocks.push(new Blocks([new Conv2d(cfg.channels, mc, 3, { ...init, padding: 1 })]));
    cfg.channelMult.forEach((mult, level) => {
      for (let r = 0; r < cfg.numResBlocks; r++) {
        const layers: Module[] = [new ResBlock(ch, mult * mc, embDim, cfg.dropout, init)];
        ch = mult * mc;
        if (cfg.attentionResolutions.includes(ds)) layers.push(new AttentionBlock(ch, cfg.numHeads, init));
        this.inputBlocks.push(new Blocks(layers));
        skips.push(ch);
      }
      if (level < cfg.channelMult.length - 1) {
        this.inputBlocks.push(new Blocks([new Downsample(ch, init)]));
        skips.push(ch);
        ds *= 2;
      }
    });
    this.middle = new Blocks([
      new ResBlock(ch, ch, embDim, cfg.dropout, init), new AttentionBlock(ch, cfg.numHeads, init), new ResBlock(ch, ch, embDim, cfg.dropout, init),
    ]);
    [...cfg.channelMult.entries()].reverse().forEach(([level, mult]) => {
      for (let r = 0; r <= cfg.numResBlocks; r++) {
        const layers: Module[] = [new ResBlock(ch + skips.pop()!, mult * mc, embDim, cfg.dropout, init)];
        ch = mult * mc;
        if (cfg.attentionResolutions.includes(ds)) layers.push(new AttentionBlock(ch, cfg.numHeads, init));
        if (level > 0 && r === cfg.numResBlocks) {
          layers.push(new Upsample(ch, init));
          ds /= 2;
        }
        this.outputBlocks.push(new Blocks(layers));
      }
    });
    this.addModule('input_blocks', new Seq(this.inputBlocks));
    this.addModule('middle_block', this.middle);
    this.addModule('output_blocks', new Seq(this.outputBlocks));
    this.outNorm = new GroupNorm(32, ch);
    this.outConv = zeroConv(ch, cfg.channels, 3, init);
    this.addModule('out', new Seq([this.outNorm, new SiLU(), this.outConv]));
  }

  /** Sets the seed of every Dropout for the next pass (layer k uses seed + k). */
  setDropoutSeed(seed: number): void {
    const visit = (m: Module, acc: { k: number }) => {
      if (m instanceof ResBlock) m.drop.setSeed(seed + acc.k++);
    };
    const acc = { k: 0 };
    for (const b of [...this.inputBlocks, this.middle, ...this.outputBlocks]) for (const m of b.items) visit(m, acc);
  }

  /** Sinusoidal embedding of t (cos half first, as guided-diffusion's timestep_embedding). */
  private timestepEmbedding(t: Tensor): Tensor {
    const half = this.config.modelChannels / 2;
    const freqs = arange(half, undefined, 1, { dtype: t.dtype }).mul(-Math.log(10000) / half).exp();
    const args = mul(unsqueeze(t, 1), unsqueeze(freqs, 0));
    return concat([cos(args), sin(args)], 1);
  }

  forward(x: Tensor, t: Tensor, labels?: ArrayLike<number>): Tensor {
    const { channels } = this.config;
    if (x.ndim !== 4 || x.shape[1] !== channels) throw new Error(`UNet: input must be [B, ${channels}, H, W], got [${x.shape.join(', ')}].`);
    const levels = 2 ** (this.config.channelMult.length - 1);
    if (x.shape[2]! % levels !== 0 || x.shape[3]! % levels !== 0) {
      throw new Error(`UNet: height and width must be multiples of ${levels} for ${this.config.channelMult.length} levels, got ${x.shape[2]}x${x.shape[3]}.`);
    }
    if (t.ndim !== 1 || t.shape[0] !== x.shape[0]) throw new Error(`UNet: t must be [${x.shape[0]}] (one per image), got [${t.shape.join(', ')}].`);
    let emb = this.timeLinear2.forward(silu(this.timeLinear1.forward(this.timestepEmbedding(t))));
    if (this.labelEmb) emb = add(emb, this.labelEmb.forward(labelsOrNone(labels, x.shape[0]!, this.config.numClasses!, 'UNet')));
    const hs: Tensor[] = [];
    let h = x;
    for (const block of this.inputBlocks) {
      h = block.forward(h, emb);
      hs.push(h);
    }
    h = this.middle.forward(h, emb);
    for (const block of this.outputBlocks) h = block.forward(concat([h, hs.pop()!], 1), emb);
    return this.outConv.forward(this.outNorm.forwardSilu(h));
  }
}
