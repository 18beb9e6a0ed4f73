import { decodeSafetensors, fileTensors } from '../io/safetensors';
import { type Denoiser, edmDenoiser } from './edm';
import { buildNetwork, networkBody, networkConsistency, type ModelKind, type Network, type NetworkSpec } from './network';
import { metadataJson, metadataNumber } from './checkpoint';
import { DEFAULT_C_NOISE_SCALE, isDenoiserParametrization, PARAMETRIZATIONS, type ConsistencyFunction, type Parametrization } from './parametrization';
import { samplingWeights } from './checkpoint';
import { withOfficialQkvLayout } from './qkv-layout';
import { FormatError } from '../errors';
import type { Tensor } from '../tensor/tensor';

const isCount = (x: number) => Number.isInteger(x) && x >= 1;

/** A safetensors file's tensors and metadata (loadSafetensors, or fileTensors of decodeSafetensors). */
export interface WeightsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** The network the metadata describes with the file's weights; any mismatch is a FormatError naming the file. */
function networkFromFile(path: string, spec: NetworkSpec, weights: Record<string, Tensor>): Network {
  try {
    const model = buildNetwork(spec, { toBeLoaded: true });
    model.loadStateDict(weights);
    return model.eval();
  } catch (e) {
    throw new FormatError(path, `${path} does not fit the model its metadata describes: ${(e as Error).message}`);
  }
}

export interface LoadedConsistencyModel {
  model: Network;
  f: ConsistencyFunction;
  shape: [number, number, number];
  metadata: Record<string, string>;
  /** A class-conditional model: its classes (metadata num_classes) and their names (class_names). */
  numClasses?: number;
  classNames?: string[];
}

/** num_classes and class_names of a class-conditional model's metadata (both absent for an unconditional one). */
function classesOf(path: string, metadata: Record<string, string>): { numClasses?: number; classNames?: string[] } {
  if (metadata.num_classes === undefined) return {};
  const numClasses = metadataNumber(path, metadata, 'num_classes', undefined, isCount);
  const classNames = metadataJson<string[]>(path, metadata, 'class_names') ?? Array.from({ length: numClasses }, (_, k) => String(k));
  if (!Array.isArray(classNames) || classNames.length !== numClasses || classNames.some((n) => typeof n !== 'string')) {
    throw new FormatError(path, `${path}: its metadata 'class_names' is not a list of ${numClasses} names; the file is damaged or was not written by onestep.`);
  }
  return { numClasses, classNames };
}

/**
 * A SimpleUNet or UNet consistency model from a safetensors file (`path` names it in errors): a training checkpoint (its EMA weights, `ema.*`)
 * or a file of plain state-dict names (an export, or weights saved from PyTorch). Metadata
 * `width`, `channels`, `parametrization`, `c_noise_scale` say what the weights mean; a file without
 * metadata is taken as the community SimpleUNet, its width read from the weights.
 */
export function consistencyModelFrom(path: string, { tensors, metadata }: WeightsFile): LoadedConsistencyModel {
  if (isDenoiserParametrization(metadata.parametrization)) {
    throw new FormatError(path, `${path} is an EDM teacher (a denoiser), not a consistency model; load it with loadTeacher (the CLI's sample and eval do).`);
  }
  const weights = samplingWeights(withOfficialQkvLayout(path, tensors, metadata));
  const kind = (metadata.model ?? 'SimpleUNet') as ModelKind;
  if (kind !== 'SimpleUNet' && kind !== 'UNet') throw new FormatError(path, `${path} holds a '${kind}' model; onestep reads SimpleUNet and UNet checkpoints.`);
  const first = weights[kind === 'SimpleUNet' ? 'down.0.weight' : 'input_blocks.0.0.weight'];
  if (!first || first.ndim !== 4) throw new FormatError(path, `${path} has no first convolution weight of shape [width, channels, 3, 3]; is it a ${kind} checkpoint?`);
  const width = metadataNumber(path, metadata, 'width', first.shape[0], isCount);
  const channels = metadataNumber(path, metadata, 'channels', first.shape[1], isCount);
  const size = metadataNumber(path, metadata, 'height', 32, isCount);
  const parametrization = (metadata.parametrization ?? 'community') as Parametrization;
  if (!PARAMETRIZATIONS.includes(parametrization)) {
    throw new FormatError(path, `${path} has an unknown parametrization '${parametrization}'; expected 'official' or 'community'.`);
  }
  const classes = classesOf(path, metadata);
  const model = networkFromFile(path, { model: kind, channels, width, unet: metadataJson(path, metadata, 'unet'), numClasses: classes.numClasses }, weights);
  const f = networkConsistency(model, parametrization, metadataNumber(path, metadata, 'c_noise_scale', DEFAULT_C_NOISE_SCALE, (x) => x > 0));
  return { model, f, shape: [channels, size, size], metadata, ...classes };
}

export interface LoadedTeacher {
  /** A class-conditional teacher's class names (spec.numClasses of them). */
  classNames?: string[];
  model: Network;
  denoiser: Denoiser;
  spec: NetworkSpec;
  shape: [number, number, number];
  metadata: Record<string, string>;
}

/** An EDM teacher written by an `edm` run (`path` names it in errors): its exported EMA weights, or a checkpoint's (`ema.*`). */
export function teacherFrom(path: string, { tensors, metadata }: WeightsFile): LoadedTeacher {
  if (!isDenoiserParametrization(metadata.parametrization)) {
    throw new FormatError(path, `${path} is not an EDM teacher (its parametrization is '${metadata.parametrization ?? 'none'}'); train one with \`npm run mnist -- teacher\`.`);
  }
  const weights = samplingWeights(withOfficialQkvLayout(path, tensors, metadata));
  const classes = classesOf(path, metadata);
  const spec: NetworkSpec = {
    model: (metadata.model ?? 'SimpleUNet') as ModelKind, channels: metadataNumber(path, metadata, 'channels', undefined, isCount),
    width: metadataNumber(path, metadata, 'width', undefined, isCount), unet: metadataJson(path, metadata, 'unet'),
    numClasses: classes.numClasses,
  };
  const model = networkFromFile(path, spec, weights);
  const size = metadataNumber(path, metadata, 'height', 32, isCount);
  return {
    model, spec, metadata, shape: [spec.channels, size, size], classNames: classes.classNames,
    denoiser: edmDenoiser(networkBody(model), metadataNumber(path, metadata, 'c_noise_scale', DEFAULT_C_NOISE_SCALE, (x) => x > 0)),
  };
}

/** A consistency model from the bytes of a .safetensors file (what a browser fetched); `source` names it in errors. */
export function consistencyModelFromBytes(bytes: Uint8Array, source = 'buffer'): LoadedConsistencyModel {
  const file = decodeSafetensors(bytes, source);
  return consistencyModelFrom(source, { tensors: fileTensors(file), metadata: file.metadata });
}
