// The official consistency-model code's model settings (openai/consistency_models, cm/script_util.py:
// model_and_diffusion_defaults and create_model) as a UNet configuration of ours. Names and
// defaults are the official ones; presets are its launch script's (scripts/launch.sh) flags.
import { ConfigError } from '../errors';
import type { UNetConfig } from '../nn/unet';

/** create_model's keyword arguments (and the sampler settings the official scripts pass beside them). */
export interface OfficialModelArgs {
  image_size: number;
  num_channels: number;
  num_res_blocks: number;
  /** "" (the image size's default) or a comma list, e.g. "1,2,3,4". */
  channel_mult: string;
  learn_sigma: boolean;
  class_cond: boolean;
  use_checkpoint: boolean;
  /** Resolutions with attention, a comma list, e.g. "32,16,8". */
  attention_resolutions: string;
  num_heads: number;
  num_head_channels: number;
  num_heads_upsample: number;
  use_scale_shift_norm: boolean;
  dropout: number;
  resblock_updown: boolean;
  use_fp16: boolean;
  use_new_attention_order: boolean;
  sigma_min: number;
  sigma_max: number;
}

export const OFFICIAL_DEFAULTS: OfficialModelArgs = {
  image_size: 64, num_channels: 128, num_res_blocks: 2, channel_mult: '', learn_sigma: false, class_cond: false,
  use_checkpoint: false, attention_resolutions: '32,16,8', num_heads: 4, num_head_channels: -1, num_heads_upsample: -1,
  use_scale_shift_norm: true, dropout: 0, resblock_updown: false, use_fp16: false, use_new_attention_order: false,
  sigma_min: 0.002, sigma_max: 80,
};

/** The released models' settings (scripts/launch.sh): ImageNet 64x64 (class-conditional) and LSUN 256x256. */
export const OFFICIAL_PRESETS: Record<'imagenet64' | 'lsun256', Partial<OfficialModelArgs>> = {
  imagenet64: {
    attention_resolutions: '32,16,8', class_cond: true, use_scale_shift_norm: true, dropout: 0, image_size: 64,
    num_channels: 192, num_head_channels: 64, num_res_blocks: 3, resblock_updown: true, use_fp16: true,
  },
  lsun256: {
    attention_resolutions: '32,16,8', class_cond: false, use_scale_shift_norm: false, dropout: 0, image_size: 256,
    num_channels: 256, num_head_channels: 64, num_res_blocks: 2, resblock_updown: true, use_fp16: true,
  },
};

// create_model's channel_mult for channel_mult="" (it refuses other sizes)
const DEFAULT_CHANNEL_MULT: Record<number, number[]> = {
  512: [0.5, 1, 1, 2, 2, 4, 4], 256: [1, 1, 2, 2, 4, 4], 128: [1, 1, 2, 3, 4], 64: [1, 2, 3, 4],
};

// keys the official scripts pass beside the model's, which do not change the network
const IGNORED = new Set(['weight_schedule', 'training_mode', 'distillation', 'teacher_dropout', 'sampler', 'steps', 'model_path', 'batch_size', 'num_samples', 'generator', 'ts', 's_churn', 's_tmin', 's_tmax', 's_noise', 'seed', 'clip_denoised']);

const isBooleanKey = (key: keyof OfficialModelArgs) => typeof OFFICIAL_DEFAULTS[key] === 'boolean';

function parseValue(source: string, key: keyof OfficialModelArgs, value: unknown): OfficialModelArgs[keyof OfficialModelArgs] {
  const bad = (want: string) => new ConfigError(key, `${source}: ${key} must be ${want}, got ${JSON.stringify(value)}.`);
  if (isBooleanKey(key)) {
    // argparse's str2bool spellings, as the official scripts take them
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|yes|t|y|1)$/i.test(value)) return true;
    if (typeof value === 'string' && /^(false|no|f|n|0)$/i.test(value)) return false;
    throw bad('a boolean (true/false, or "True"/"False")');
  }
  if (typeof OFFICIAL_DEFAULTS[key] === 'string') {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.join(',');
    throw bad('a comma-separated string such as "32,16,8"');
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw bad('a number');
  return n;
}

/** The official settings from a JSON object of create_model's keyword arguments (missing keys: the official defaults). */
export function officialArgs(json: unknown, source: string): OfficialModelArgs {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError('official-args', `${source} must hold a JSON object of the official create_model's keyword arguments (image_size, num_channels, ...).`);
  }
  const args: OfficialModelArgs = { ...OFFICIAL_DEFAULTS };
  for (const [key, value] of Object.entries(json)) {
    if (IGNORED.has(key)) continue;
    if (!(key in OFFICIAL_DEFAULTS)) {
      throw new ConfigError(key, `${source}: '${key}' is not a setting of the official create_model; known: ${Object.keys(OFFICIAL_DEFAULTS).join(', ')}.`);
    }
    (args as unknown as Record<string, unknown>)[key] = parseValue(source, key as keyof OfficialModelArgs, value);
  }
  return args;
}

const list = (source: string, key: string, text: string): number[] => {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !(v > 0))) throw new ConfigError(key, `${source}: ${key} '${text}' must be positive numbers separated by commas.`);
  return values;
};

/** What the official settings build: our UNet's configuration, the image size and the class count's presence. */
export function officialUNetConfig(args: OfficialModelArgs, source: string): { modelChannels: number; imageSize: number; unet: Partial<UNetConfig> } {
  if (args.learn_sigma) throw new ConfigError('learn_sigma', `${source}: learn_sigma true doubles the output channels (a variance head); consistency models and EDM teachers of the official code use learn_sigma false, and onestep reads only those.`);
  if (args.sigma_min !== 0.002) throw new ConfigError('sigma_min', `${source}: sigma_min ${args.sigma_min}; onestep's official parametrization has sigma_min 0.002, as the official models do.`);
  const channelMult = args.channel_mult === '' ? DEFAULT_CHANNEL_MULT[args.image_size] : list(source, 'channel_mult', args.channel_mult);
  if (!channelMult) throw new ConfigError('channel_mult', `${source}: channel_mult "" has no default for image_size ${args.image_size} (the official code knows 64, 128, 256, 512); give channel_mult, e.g. "1,2,2".`);
  const attentionResolutions = args.attention_resolutions === '' ? [] : list(source, 'attention_resolutions', args.attention_resolutions).map((r) => Math.trunc(args.image_size / r));
  return {
    modelChannels: args.num_channels,
    imageSize: args.image_size,
    unet: {
      channelMult, numResBlocks: args.num_res_blocks, attentionResolutions, dropout: args.dropout, numHeads: args.num_heads,
      numHeadChannels: args.num_head_channels, numHeadsUpsample: args.num_heads_upsample, useScaleShiftNorm: args.use_scale_shift_norm,
      resblockUpdown: args.resblock_updown, noLabelRow: false,
    },
  };
}
