import type { Tensor } from '../tensor/tensor';
import type { InitOptions } from '../nn/layers';
import { SimpleUNet } from '../nn/simple-unet';
import { UNet, type UNetConfig } from '../nn/unet';
import { officialConsistency, simpleUNetConsistency, type ConsistencyFunction, type Parametrization } from './parametrization';

export type ModelKind = 'SimpleUNet' | 'UNet';

/** What a network is: enough to rebuild it from a checkpoint's metadata. */
export interface NetworkSpec {
  model: ModelKind;
  channels: number;
  /** SimpleUNet's D, or the UNet's modelChannels. */
  width: number;
  /** The rest of the UNet's configuration (defaults: DEFAULT_UNET_CONFIG). */
  unet?: Partial<UNetConfig>;
}

export type Network = SimpleUNet | UNet;

export function buildNetwork(spec: NetworkSpec, init: InitOptions = {}): Network {
  if (spec.model === 'SimpleUNet') return new SimpleUNet({ channels: spec.channels, width: spec.width }, init);
  if (spec.model === 'UNet') return new UNet({ ...spec.unet, channels: spec.channels, modelChannels: spec.width }, init);
  throw new Error(`Unknown model '${String(spec.model)}'; expected SimpleUNet or UNet.`);
}

/** The network body F(x, t) that the official and EDM parametrizations wrap. */
export function networkBody(net: Network): (x: Tensor, t: Tensor) => Tensor {
  return net instanceof SimpleUNet ? (x, t) => net.body(x, t) : (x, t) => net.forward(x, t);
}

/** The network's consistency function: UNet only under the official parametrization. */
export function networkConsistency(net: Network, parametrization: Parametrization, cNoiseScale: number): ConsistencyFunction {
  if (net instanceof SimpleUNet) return simpleUNetConsistency(net, parametrization, cNoiseScale);
  if (parametrization !== 'official') {
    throw new Error("The UNet has no built-in skip parametrization; train it with the official parametrization (recipe 'ict').");
  }
  return officialConsistency((x, t) => net.forward(x, t), cNoiseScale);
}

export function specMetadata(spec: NetworkSpec): Record<string, string> {
  return {
    model: spec.model,
    width: String(spec.width),
    channels: String(spec.channels),
    ...(spec.model === 'UNet' ? { unet: JSON.stringify(spec.unet ?? {}) } : {}),
  };
}
