import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeSafetensors, loadSafetensors } from '../io/safetensors';
import { type Denoiser, edmDenoiser } from './edm';
import { buildNetwork, networkBody, networkConsistency, type ModelKind, type Network, type NetworkSpec } from './network';
import { DEFAULT_C_NOISE_SCALE, type ConsistencyFunction, type Parametrization } from './parametrization';
import { samplingWeights } from './checkpoint';
import { FormatError } from '../errors';
import type { Tensor } from '../tensor/tensor';

/** Loads a state dict; a mismatch (names, shapes) is a FormatError naming the file. */
function loadWeights(model: Network, weights: Record<string, Tensor>, path: string): void {
  try {
    model.loadStateDict(weights);
  } catch (e) {
    throw new FormatError(path, `${path} does not fit the model its metadata describes: ${(e as Error).message}`);
  }
}

export interface LoadedConsistencyModel {
  model: Network;
  f: ConsistencyFunction;
  shape: [number, number, number];
  metadata: Record<string, string>;
}

/**
 * A SimpleUNet or UNet consistency model from safetensors: a training checkpoint (its EMA weights, `ema.*`)
 * or a file of plain state-dict names (an export, or weights saved from PyTorch). Metadata
 * `width`, `channels`, `parametrization`, `c_noise_scale` say what the weights mean; a file without
 * metadata is taken as the community SimpleUNet, its width read from the weights.
 */
export function loadConsistencyModel(path: string): LoadedConsistencyModel {
  const { tensors, metadata } = loadSafetensors(path);
  if (metadata.parametrization === 'edm') {
    throw new FormatError(path, `${path} is an EDM teacher (a denoiser), not a consistency model; load it with loadTeacher (the CLI's sample and eval do).`);
  }
  const weights = samplingWeights(tensors);
  const kind = (metadata.model ?? 'SimpleUNet') as ModelKind;
  if (kind !== 'SimpleUNet' && kind !== 'UNet') throw new FormatError(path, `${path} holds a '${kind}' model; onestep reads SimpleUNet and UNet checkpoints.`);
  const first = weights[kind === 'SimpleUNet' ? 'down.0.weight' : 'input_blocks.0.0.weight'];
  if (!first || first.ndim !== 4) throw new FormatError(path, `${path} has no first convolution weight of shape [width, channels, 3, 3]; is it a ${kind} checkpoint?`);
  const width = Number(metadata.width ?? first.shape[0]);
  const channels = Number(metadata.channels ?? first.shape[1]);
  const size = Number(metadata.height ?? 32);
  const parametrization = (metadata.parametrization ?? 'community') as Parametrization;
  if (parametrization !== 'official' && parametrization !== 'community') {
    throw new FormatError(path, `${path} has an unknown parametrization '${parametrization}'; expected 'official' or 'community'.`);
  }
  const model = buildNetwork({ model: kind, channels, width, unet: metadata.unet ? JSON.parse(metadata.unet) : undefined });
  loadWeights(model, weights, path);
  model.eval();
  const f = networkConsistency(model, parametrization, Number(metadata.c_noise_scale ?? DEFAULT_C_NOISE_SCALE));
  return { model, f, shape: [channels, size, size], metadata };
}

export interface LoadedTeacher {
  model: Network;
  denoiser: Denoiser;
  spec: NetworkSpec;
  shape: [number, number, number];
  metadata: Record<string, string>;
}

/** An EDM teacher written by an `edm` run: its exported EMA weights, or a checkpoint's (`ema.*`). */
export function loadTeacher(path: string): LoadedTeacher {
  const { tensors, metadata } = loadSafetensors(path);
  if (metadata.parametrization !== 'edm') {
    throw new FormatError(path, `${path} is not an EDM teacher (its parametrization is '${metadata.parametrization ?? 'none'}'); train one with \`npm run mnist -- teacher\`.`);
  }
  const weights = samplingWeights(tensors);
  const spec: NetworkSpec = {
    model: (metadata.model ?? 'SimpleUNet') as ModelKind, channels: Number(metadata.channels), width: Number(metadata.width),
    unet: metadata.unet ? JSON.parse(metadata.unet) : undefined,
  };
  const model = buildNetwork(spec);
  loadWeights(model, weights, path);
  model.eval();
  const size = Number(metadata.height ?? 32);
  return {
    model, spec, metadata, shape: [spec.channels, size, size],
    denoiser: edmDenoiser(networkBody(model), Number(metadata.c_noise_scale ?? DEFAULT_C_NOISE_SCALE)),
  };
}

/** Whether a safetensors file holds an EDM teacher rather than a consistency model. */
export const isTeacherFile = (path: string): boolean =>
  decodeSafetensors(readFileSync(path), basename(path)).metadata.parametrization === 'edm'; // no tensors made
