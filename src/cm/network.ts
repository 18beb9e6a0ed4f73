import type { InitOptions } from '../nn/layers';
import { SimpleUNet } from '../nn/simple-unet';
import { UNet, type UNetConfig } from '../nn/unet';
import { QKV_LAYOUT } from './qkv-layout';
import { officialConsistency, scalesTimeInput, simpleUNetConsistency, type ConsistencyFunction, type NetworkBody, type Parametrization } from './parametrization';

export type ModelKind = 'SimpleUNet' | 'UNet';

/** What a network is: enough to rebuild it from a checkpoint's metadata. */
export interface NetworkSpec {
  model: ModelKind;
  channels: number;
  /** SimpleUNet's D, or the UNet's modelChannels. */
  width: number;
  /** The rest of the UNet's configuration (defaults: DEFAULT_UNET_CONFIG). */
  unet?: Partial<UNetConfig>;
  /** Class-conditional on this many classes (a `label_emb` of K + 1 rows); absent: unconditional. */
  numClasses?: number;
}

export type Network = SimpleUNet | UNet;

export function buildNetwork(spec: NetworkSpec, init: InitOptions = {}): Network {
  if (spec.model === 'SimpleUNet') return new SimpleUNet({ channels: spec.channels, width: spec.width, numClasses: spec.numClasses }, init);
  if (spec.model === 'UNet') return new UNet({ ...spec.unet, channels: spec.channels, modelChannels: spec.width, numClasses: spec.numClasses }, init);
  throw new Error(`Unknown model '${String(spec.model)}'; expected SimpleUNet or UNet.`);
}

/** What a built network is (its model, width, channels, classes, the UNet's settings). */
export function networkSpecOf(net: Network): NetworkSpec {
  const numClasses = net.config.numClasses;
  if (net instanceof SimpleUNet) return { model: 'SimpleUNet', channels: net.config.channels, width: net.config.width, ...(numClasses ? { numClasses } : {}) };
  const { channels, modelChannels, numClasses: _, ...unet } = net.config;
  return { model: 'UNet', channels, width: modelChannels, unet, ...(numClasses ? { numClasses } : {}) };
}

/** The network body F(x, t) that the official and EDM parametrizations wrap. */
export function networkBody(net: Network): NetworkBody {
  return net instanceof SimpleUNet ? (x, t, labels) => net.body(x, t, undefined, labels) : (x, t, labels) => net.forward(x, t, labels);
}

/** The network's consistency function: UNet only under the official parametrization. */
export function networkConsistency(net: Network, parametrization: Parametrization, cNoiseScale: number): ConsistencyFunction {
  if (net instanceof SimpleUNet) return simpleUNetConsistency(net, parametrization, cNoiseScale);
  if (!scalesTimeInput(parametrization)) {
    throw new Error("The UNet has no built-in skip parametrization; train it with the official parametrization (recipe 'ict').");
  }
  return officialConsistency((x, t, labels) => net.forward(x, t, labels), cNoiseScale);
}

export function specMetadata(spec: NetworkSpec): Record<string, string> {
  return {
    model: spec.model,
    width: String(spec.width),
    channels: String(spec.channels),
    ...(spec.model === 'UNet' ? { unet: JSON.stringify(spec.unet ?? {}), qkv_layout: QKV_LAYOUT } : {}),
    ...(spec.numClasses ? { num_classes: String(spec.numClasses) } : {}),
  };
}
