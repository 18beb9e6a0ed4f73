// The ADM-style UNet's rows, each beside PyTorch's in the same run (bench/torch_peer.py): a training
// step of the imagenet9 example's configuration (examples/imagenet9.ts: the UNet with its defaults,
// 64x64 RGB, 9 classes, recipe ict, batch 8) and one-step sampling with the official ImageNet-64
// architecture (cm.OFFICIAL_PRESETS.imagenet64, random weights, 1000 classes), batch 1 and 8.
import { cm, Generator, nn, noGrad, randn, tensor, tidy, type Tensor } from '../src/index';
import type { ImageDataset } from '../src/data/dataset';
import { networkSpecOf } from '../src/cm/network';
import type { UNetConfig } from '../src/nn/unet';
import type { BenchCase } from './harness';

export const IMAGENET9_STEP = 'train-step-imagenet9-unet-b8';
export const IMAGENET64_BATCHES = [1, 8] as const;
export const imagenet64SampleName = (batch: number): string => `sample-1step-imagenet64-b${batch}`;
// a few samples: the batch-8 sampling takes seconds here and most of a minute in PyTorch
export const UNET_SAMPLING = { minSamples: 3, maxTime: 0 };

const IMAGENET9 = { size: 64, classes: 9, batch: 8 };

/** The keyword arguments of the official create_model that build this UNet (our extra: label rows). */
export interface TorchUNet {
  officialArgs: Record<string, string | number | boolean>;
  labelRows: number | null;
  imageSize: number;
}

/** create_model's arguments for our UNet configuration at `imageSize`. */
export function torchUNetOf(config: UNetConfig, imageSize: number): TorchUNet {
  return {
    officialArgs: {
      image_size: imageSize, num_channels: config.modelChannels, num_res_blocks: config.numResBlocks,
      channel_mult: config.channelMult.join(','), learn_sigma: false, class_cond: config.numClasses !== undefined,
      attention_resolutions: config.attentionResolutions.map((ds) => imageSize / ds).join(','), num_heads: config.numHeads,
      num_head_channels: config.numHeadChannels, num_heads_upsample: config.numHeadsUpsample,
      use_scale_shift_norm: config.useScaleShiftNorm, dropout: config.dropout, resblock_updown: config.resblockUpdown,
    },
    labelRows: config.numClasses === undefined ? null : config.numClasses + (config.noLabelRow ? 1 : 0),
    imageSize,
  };
}

/** The imagenet9 example's UNet configuration (what its Trainer builds). */
export function imagenet9UNet(): UNetConfig {
  const spec = networkSpecOf(imagenet9Trainer(1).model);
  return { ...nn.DEFAULT_UNET_CONFIG, ...spec.unet, channels: spec.channels, modelChannels: spec.width, numClasses: spec.numClasses };
}

/** The official ImageNet-64 architecture at `width` model channels (192 is the released one's). */
export function imagenet64UNet(width = 192): UNetConfig {
  const { modelChannels, unet } = cm.officialUNetConfig(cm.officialArgs({ ...cm.OFFICIAL_PRESETS.imagenet64, num_channels: width }, 'imagenet64'), 'imagenet64');
  return { ...nn.DEFAULT_UNET_CONFIG, ...unet, channels: 3, modelChannels, numClasses: 1000 };
}

function labelledImages(count: number): ImageDataset {
  const { size, classes } = IMAGENET9;
  const g = new Generator(7);
  const images = randn([count, 3, size, size], { generator: g }).mul(0.5).clamp(-1, 1).toArray() as Float32Array;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % classes);
  return { name: 'random-64', images, labels, classNames: Array.from({ length: classes }, (_, k) => `class${k}`), count, channels: 3, height: size, width: size };
}

function imagenet9Trainer(steps: number): cm.Trainer {
  const config = cm.trainConfig({ recipe: 'ict', model: 'UNet', batch: IMAGENET9.batch, steps, classConditional: true });
  return new cm.Trainer(config, labelledImages(64));
}

export function imagenet9StepCase(): BenchCase {
  return {
    name: IMAGENET9_STEP,
    backend: 'cpu',
    sampling: UNET_SAMPLING,
    setup: () => {
      const run = imagenet9Trainer(10_000);
      run.trainStep();
      return () => void run.trainStep();
    },
  };
}

let imagenet64: nn.UNet | null = null;

export function imagenet64SampleCase(batch: number): BenchCase {
  return {
    name: imagenet64SampleName(batch),
    backend: 'cpu',
    sampling: UNET_SAMPLING,
    setup: () => {
      imagenet64 ??= new nn.UNet(imagenet64UNet(), { generator: new Generator(0) }).eval();
      const model = imagenet64;
      const f = cm.officialConsistency((x: Tensor, t: Tensor, labels?: ArrayLike<number>) => model.forward(x, t, labels), cm.DEFAULT_C_NOISE_SCALE);
      const labels = Array.from({ length: batch }, (_, i) => i);
      const levels = tensor(new Array(batch).fill(80));
      const g = new Generator(1);
      return () => tidy(() => noGrad(() => void f(randn([batch, 3, 64, 64], { generator: g }).mul(80), levels, labels).clamp(-1, 1).toArray()));
    },
    teardown: () => {
      if (batch === IMAGENET64_BATCHES.at(-1)) imagenet64 = null;
    },
  };
}

export const unetCases = (): BenchCase[] => [imagenet9StepCase(), ...IMAGENET64_BATCHES.map(imagenet64SampleCase)];
