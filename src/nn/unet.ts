import { arange } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';
import { add, cos, mul, silu, sin } from '../ops/elementwise';
import { concat, reshape, slice, unsqueeze } from '../ops/movement';
import { avgPool2x2, interpolate } from '../ops/resample';
import { attention } from '../ops/attention';
import { isGradEnabled } from '../autograd/grad-mode';
import { tidy } from '../tensor/scope';
import { Conv2d, Dropout, Embedding, GroupNorm, type InitOptions, labelsOrNone, Linear, SiLU } from './layers';
import { Module } from './module';

// The U-Net of the official consistency-model code (its cm/unet.py UNetModel, after guided-diffusion),
// sized by config, with its module names: time_embed, label_emb, input_blocks, middle_block,
// output_blocks, out; the same state dict as the official network's, so its files load
// (docs/contracts.md, Models). Differences: attention's qkv/proj_out are 1x1 Conv2d ([o, i, 1, 1])
// where the official code uses Conv1d ([o, i, 1]); no checkpointing, no fp16; label_emb has a
// "no label" row K unless `noLabelRow` is false (official files have K rows).

export interface UNetConfig {
  /** Image channels (in and out). */
  channels: number;
  /** Base width (a multiple of 32, for GroupNorm(32, .)). */
  modelChannels: number;
  /** Width multiplier per resolution level, e.g. [1, 2, 2] (official: 0.5 allowed; each width a multiple of 32). */
  channelMult: number[];
  numResBlocks: number;
  /** Down-sampling factors at which blocks get self-attention, e.g. [2] = at half resolution. */
  attentionResolutions: number[];
  dropout: number;
  /** Attention heads (official num_heads), unless numHeadChannels is set. */
  numHeads: number;
  /** Channels per head (official num_head_channels): heads = width / numHeadChannels; -1: numHeads. */
  numHeadChannels: number;
  /** Heads in the output blocks' attention (official num_heads_upsample); -1: numHeads. */
  numHeadsUpsample: number;
  /** ResBlocks condition by GN(h)(1 + scale) + shift (official use_scale_shift_norm); false: h + emb before GN. */
  useScaleShiftNorm: boolean;
  /** Down- and up-sample with ResBlocks (official resblock_updown) instead of a strided conv / nearest + conv. */
  resblockUpdown: boolean;
  /**
   * Class-conditional when set (K classes): `label_emb.weight` is added to the time embedding.
   */
  numClasses?: number;
  /** label_emb has K + 1 rows, row K "no label" (label dropout, unconditional sampling); false: K rows as official files. */
  noLabelRow: boolean;
}

export const DEFAULT_UNET_CONFIG: UNetConfig = {
  channels: 1, modelChannels: 32, channelMult: [1, 2, 2], numResBlocks: 1, attentionResolutions: [2], dropout: 0.1, numHeads: 1,
  numHeadChannels: -1, numHeadsUpsample: -1, useScaleShiftNorm: true, resblockUpdown: false, noLabelRow: true,
};

/** The settings that decide what a UNet's weights are and mean (dropout, channels and width aside). */
export function unetLayout(config: Partial<UNetConfig>): Omit<UNetConfig, 'channels' | 'modelChannels' | 'dropout' | 'numClasses'> {
  const { channels: _c, modelChannels: _m, dropout: _d, numClasses: _k, ...layout } = { ...DEFAULT_UNET_CONFIG, ...config };
  return layout;
}

/**
 * Without gradients, a block's intermediates are freed when it returns (a caller's tidy would keep
 * every one of the forward's until it ends: 9.6 GB at batch 8 for the ImageNet-64 network); with
 * gradients the backward needs them, so they stay.
 */
const blockScope = (fn: () => Tensor): Tensor => (isGradEnabled() ? fn() : tidy(fn));

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

/** A ResBlock's resampling of both paths (official resblock_updown): nearest 2x up or 2x2 average down. */
type Resampling = 'up' | 'down';

/**
 * GN -> SiLU -> (resample) -> conv; time embedding -> (scale, shift): GN * (1 + scale) + shift, or
 * + emb before GN; -> SiLU -> dropout -> zero conv; + skip (resampled as well).
 */
class ResBlock extends Module {
  private readonly inNorm: GroupNorm;
  private readonly inConv: Conv2d;
  private readonly embLinear: Linear;
  private readonly outNorm: GroupNorm;
  readonly drop: Dropout;
  private readonly outConv: Conv2d;
  private readonly skip: Conv2d | null;
  constructor(
    readonly inCh: number, readonly outCh: number, embDim: number, dropoutP: number, init: InitOptions,
    private readonly scaleShift: boolean, private readonly resampling?: Resampling,
  ) {
    super();
    this.inNorm = new GroupNorm(32, inCh);
    this.inConv = new Conv2d(inCh, outCh, 3, { ...init, padding: 1 });
    this.addModule('in_layers', new Seq([this.inNorm, new SiLU(), this.inConv]));
    this.embLinear = new Linear(embDim, scaleShift ? 2 * outCh : outCh, init);
    this.addModule('emb_layers', new Seq([new SiLU(), this.embLinear]));
    this.outNorm = new GroupNorm(32, outCh);
    this.drop = new Dropout(dropoutP);
    this.outConv = zeroConv(outCh, outCh, 3, init);
    this.addModule('out_layers', new Seq([this.outNorm, new SiLU(), this.drop, this.outConv]));
    this.skip = inCh === outCh ? null : this.addModule('skip_connection', new Conv2d(inCh, outCh, 1, init));
  }
  private resample(x: Tensor): Tensor {
    if (this.resampling === 'up') return interpolate(x, { scaleFactor: 2 });
    return this.resampling === 'down' ? avgPool2x2(x) : x;
  }
  forward(x: Tensor, emb: Tensor): Tensor {
    let h = this.inConv.forward(this.resample(this.inNorm.forwardSilu(x)));
    const e = this.embLinear.forward(silu(emb));
    const b = e.shape[0]!;
    if (this.scaleShift) {
      const scale = reshape(slice(e, [0, 0], [b, this.outCh]), [b, this.outCh, 1, 1]);
      const shift = reshape(slice(e, [0, this.outCh], [b, 2 * this.outCh]), [b, this.outCh, 1, 1]);
      h = silu(add(mul(this.outNorm.forward(h), scale.add(1)), shift));
    } else {
      h = this.outNorm.forwardSilu(add(h, reshape(e, [b, this.outCh, 1, 1])));
    }
    h = this.outConv.forward(this.drop.forward(h));
    const skip = this.resample(x);
    return add(this.skip ? this.skip.forward(skip) : skip, h);
  }
}

/**
 * Multi-head self-attention over the H W positions, with a zero-initialised output projection.
 * qkv's 3C output channels are (three, head, d), as both attention paths of the official code
 * split them; the result's channels are (head, d).
 */
class AttentionBlock extends Module {
  private readonly norm: GroupNorm;
  private readonly qkv: Conv2d;
  private readonly projOut: Conv2d;
  constructor(readonly ch: number, readonly heads: number, init: InitOptions) {
    super();
    if (!Number.isInteger(heads) || heads < 1 || ch % heads !== 0) throw new Error(`AttentionBlock: ${ch} channels do not split into ${heads} heads.`);
    this.norm = this.addModule('norm', new GroupNorm(32, ch));
    this.qkv = this.addModule('qkv', new Conv2d(ch, 3 * ch, 1, init));
    this.projOut = this.addModule('proj_out', zeroConv(ch, ch, 1, init));
  }
  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const d = c / this.heads, n = h * w;
    const qkv = reshape(this.qkv.forward(this.norm.forward(x)), [b, 3, c * n]);
    const part = (j: number) => reshape(slice(qkv, [0, j], [b, j + 1]), [b * this.heads, d, n]);
    const out = attention(part(0), part(1), part(2)); // [BH, d, n], scale 1 / sqrt(d)
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
    if (cfg.channelMult.length === 0 || cfg.channelMult.some((m) => !(m > 0) || Math.trunc(m * mc) % 32 !== 0)) {
      throw new Error(`UNet: channelMult [${cfg.channelMult}] must give each level a width (multiplier x modelChannels ${mc}) that is a positive multiple of 32.`);
    }
    this.timeLinear1 = new Linear(mc, embDim, init);
    this.timeLinear2 = new Linear(embDim, embDim, init);
    this.addModule('time_embed', new Seq([this.timeLinear1, new SiLU(), this.timeLinear2]));
    if (cfg.numClasses !== undefined && !(Number.isInteger(cfg.numClasses) && cfg.numClasses >= 1)) throw new Error(`UNet: numClasses must be a positive integer, got ${cfg.numClasses}.`);
    this.labelEmb = cfg.numClasses ? this.addModule('label_emb', new Embedding(cfg.numClasses + (cfg.noLabelRow ? 1 : 0), embDim, init)) : null;

    const width = (mult: number) => Math.trunc(mult * mc);
    const inputWidth = width(cfg.channelMult[0]!);
    const heads = (ch: number, numHeads: number) => {
      if (cfg.numHeadChannels === -1) return numHeads;
      if (ch % cfg.numHeadChannels !== 0) throw new Error(`UNet: ${ch} channels do not split into heads of numHeadChannels ${cfg.numHeadChannels}.`);
      return ch / cfg.numHeadChannels;
    };
    const upHeads = cfg.numHeadsUpsample === -1 ? cfg.numHeads : cfg.numHeadsUpsample;
    const resBlock = (i: number, o: number, resampling?: Resampling) => new ResBlock(i, o, embDim, cfg.dropout, init, cfg.useScaleShiftNorm, resampling);
    const skips: number[] = [inputWidth];
    let ch = inputWidth, ds = 1;
    this.inputBlocks.push(new Blocks([new Conv2d(cfg.channels, inputWidth, 3, { ...init, padding: 1 })]));
    cfg.channelMult.forEach((mult, level) => {
      for (let r = 0; r < cfg.numResBlocks; r++) {
        const layers: Module[] = [resBlock(ch, width(mult))];
        ch = width(mult);
        if (cfg.attentionResolutions.includes(ds)) layers.push(new AttentionBlock(ch, heads(ch, cfg.numHeads), init));
        this.inputBlocks.push(new Blocks(layers));
        skips.push(ch);
      }
      if (level < cfg.channelMult.length - 1) {
        this.inputBlocks.push(new Blocks([cfg.resblockUpdown ? resBlock(ch, ch, 'down') : new Downsample(ch, init)]));
        skips.push(ch);
        ds *= 2;
      }
    });
    this.middle = new Blocks([resBlock(ch, ch), new AttentionBlock(ch, heads(ch, cfg.numHeads), init), resBlock(ch, ch)]);
    [...cfg.channelMult.entries()].reverse().forEach(([level, mult]) => {
      for (let r = 0; r <= cfg.numResBlocks; r++) {
        const layers: Module[] = [resBlock(ch + skips.pop()!, width(mult))];
        ch = width(mult);
        if (cfg.attentionResolutions.includes(ds)) layers.push(new AttentionBlock(ch, heads(ch, upHeads), init));
        if (level > 0 && r === cfg.numResBlocks) {
          layers.push(cfg.resblockUpdown ? resBlock(ch, ch, 'up') : new Upsample(ch, init));
          ds /= 2;
        }
        this.outputBlocks.push(new Blocks(layers));
      }
    });
    this.addModule('input_blocks', new Seq(this.inputBlocks));
    this.addModule('middle_block', this.middle);
    this.addModule('output_blocks', new Seq(this.outputBlocks));
    this.outNorm = new GroupNorm(32, ch);
    this.outConv = zeroConv(inputWidth, cfg.channels, 3, init);
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
    if (this.labelEmb) {
      if (labels === undefined && !this.config.noLabelRow) {
        throw new Error(`UNet: this class-conditional network has ${this.config.numClasses} label rows and no "no label" row (an official file), so it cannot sample unconditionally; give a class for every image (the CLI's --class).`);
      }
      emb = add(emb, this.labelEmb.forward(labelsOrNone(labels, x.shape[0]!, this.config.numClasses!, 'UNet')));
    }
    const hs: Tensor[] = [];
    let h = x;
    for (const block of this.inputBlocks) {
      const input = h;
      h = blockScope(() => block.forward(input, emb));
      hs.push(h);
    }
    const deepest = h;
    h = blockScope(() => this.middle.forward(deepest, emb));
    for (const block of this.outputBlocks) {
      const input = h;
      h = blockScope(() => block.forward(concat([input, hs.pop()!], 1), emb));
    }
    return this.outConv.forward(this.outNorm.forwardSilu(h));
  }
}
