// A state dict of the official consistency-model code (torch.save of its UNetModel, read by
// src/io/torch) as one of our model files: the same names, float32 values, and the metadata that
// says what the weights mean (docs/architecture.md, The checkpoint contract).
import { FormatError } from '../errors';
import { torchTensorToFloat32, type TorchTensor } from '../io/torch';
import { tensor } from '../tensor/create';
import type { Tensor } from '../tensor/tensor';
import { UNet } from '../nn/unet';
import { networkSpecOf, specMetadata } from './network';
import { DEFAULT_C_NOISE_SCALE } from './parametrization';
import { officialUNetConfig, type OfficialModelArgs } from './official-args';

/** Which wrapper the weights were trained under: the consistency function f (CD, CT) or the EDM denoiser D. */
export type OfficialKind = 'consistency' | 'edm';
export const OFFICIAL_KINDS: readonly OfficialKind[] = ['consistency', 'edm'];

/** Each kind's parametrization in our files, and what it is in words. */
export const OFFICIAL_KIND_INFO: Record<OfficialKind, { parametrization: string; description: string }> = {
  consistency: { parametrization: 'official', description: 'a consistency model' },
  edm: { parametrization: 'edm', description: 'an EDM denoiser' },
};

export interface ConvertedModel {
  model: UNet;
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Our UNet holding an official state dict (`source` names the file in errors). The image channels
 * and the class count come from the tensors; everything else from `args`, create_model's keyword
 * arguments. The official time input is 1000 * 0.25 ln(sigma), our c_noise_scale 250.
 */
export function convertOfficial(stateDict: Map<string, TorchTensor>, args: OfficialModelArgs, kind: OfficialKind, source: string): ConvertedModel {
  if (!OFFICIAL_KINDS.includes(kind)) throw new FormatError(source, `--kind must be ${OFFICIAL_KINDS.join(' or ')}, got '${kind}'.`);
  const { modelChannels, imageSize, unet } = officialUNetConfig(args, source);
  const first = stateDict.get('input_blocks.0.0.weight');
  if (!first || first.shape.length !== 4) {
    throw new FormatError(source, `${source} has no input_blocks.0.0.weight of shape [channels, image channels, 3, 3]: it is not a state dict of the official UNetModel (a training state with the weights under a key? pass --key).`);
  }
  const labels = stateDict.get('label_emb.weight');
  if (args.class_cond !== (labels !== undefined)) {
    throw new FormatError(source, args.class_cond
      ? `${source} has no label_emb.weight, so it is not class-conditional; set class_cond false.`
      : `${source} has label_emb.weight [${labels!.shape}]: it is class-conditional; set class_cond true.`);
  }
  const numClasses = labels?.shape[0];
  let model: UNet;
  try {
    model = new UNet({ ...unet, channels: first.shape[1]!, modelChannels, numClasses }, { toBeLoaded: true });
  } catch (e) {
    throw new FormatError(source, `the official settings for ${source} do not make a UNet: ${(e as Error).message}`);
  }
  const own = new Map(model.namedParameters());
  const weights: Record<string, Tensor> = {};
  for (const [name, t] of stateDict) {
    const target = own.get(name);
    // the official qkv/proj_out are Conv2d 1x1 ([o, i, 1, 1]); guided-diffusion's were Conv1d ([o, i, 1])
    const shape = target && t.shape.length === 3 && target.shape.length === 4 && t.shape[2] === 1 ? [...t.shape, 1] : t.shape;
    weights[name] = tensor(torchTensorToFloat32(t), { shape });
  }
  try {
    model.loadStateDict(weights);
  } catch (e) {
    throw new FormatError(source, `${source} does not fit the UNet its official settings describe (check image_size, num_channels, channel_mult, num_res_blocks, attention_resolutions, num_heads/num_head_channels, use_scale_shift_norm, resblock_updown): ${(e as Error).message}`);
  }
  const metadata: Record<string, string> = {
    ...specMetadata(networkSpecOf(model)),
    height: String(imageSize),
    parametrization: OFFICIAL_KIND_INFO[kind].parametrization,
    c_noise_scale: String(DEFAULT_C_NOISE_SCALE),
    converted_from: source,
    official_args: JSON.stringify(args),
  };
  return { model: model.eval(), tensors: model.stateDict(), metadata };
}
