// The order of a UNet attention block's qkv output channels in a file (docs/contracts.md, Models).
// The official code splits the 3C channels as (three, head, d); onestep files written before the
// metadata key `qkv_layout` existed split them as (head, three, d). With one head the two agree.
import { FormatError } from '../errors';
import { permute, reshape } from '../ops/movement';
import type { Tensor } from '../tensor/tensor';
import { DEFAULT_UNET_CONFIG, type UNetConfig } from '../nn/unet';
import { metadataJson } from './checkpoint';

/** Metadata `qkv_layout` of every UNet file onestep writes: the official order. */
export const QKV_LAYOUT = 'three-head-d';

const QKV_NAME = /(^|\.)qkv\.(weight|bias)$/;

/** (head, three, d) rows -> (three, head, d) rows of a qkv weight [3C, ...] or bias [3C]. */
function officialRows(t: Tensor, heads: number): Tensor {
  const [rows, ...rest] = t.shape as number[];
  const d = rows! / (3 * heads), inner = rest.reduce((a, b) => a * b, 1);
  return reshape(permute(reshape(t, [heads, 3, d, inner]), [1, 0, 2, 3]), t.shape);
}

/**
 * A UNet file's tensors (any prefix: ema., target., optimizer moments) with qkv in the official
 * order: unchanged for files that record `qkv_layout`, reordered for earlier onestep files, whose
 * attention blocks all had the config's numHeads heads. Earlier files also gave the first
 * convolution modelChannels outputs, which the official network does only for channelMult[0] = 1.
 */
export function withOfficialQkvLayout(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string>): Record<string, Tensor> {
  if (metadata.model !== 'UNet') return tensors;
  if (metadata.qkv_layout !== undefined) {
    if (metadata.qkv_layout !== QKV_LAYOUT) throw new FormatError(path, `${path}: its metadata qkv_layout '${metadata.qkv_layout}' is unknown (onestep writes '${QKV_LAYOUT}'); the file is damaged or from a newer version.`);
    return tensors;
  }
  const unet: Partial<UNetConfig> = { ...DEFAULT_UNET_CONFIG, ...metadataJson<Partial<UNetConfig>>(path, metadata, 'unet') };
  if (unet.channelMult?.[0] !== 1) {
    throw new FormatError(path, `${path} is a UNet written by an earlier onestep with channelMult [${unet.channelMult}]: its first convolution has modelChannels outputs where the official network (and onestep now) has channelMult[0] x modelChannels, so its weights cannot be read; retrain it, or use channelMult starting at 1.`);
  }
  const heads = unet.numHeads ?? 1;
  if (heads === 1) return tensors;
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, QKV_NAME.test(name) ? officialRows(t, heads) : t]));
}
