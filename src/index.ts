// The public API of onestep.
export type { DType, Shape, TypedArray, Backend } from './backend/backend';
export { getBackend, setBackend, type BackendName } from './backends';
export { Tensor } from './tensor/tensor';
export { RawTensor } from './tensor/raw';
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand } from './tensor/create';
export type { CreateOptions, RandomOptions } from './tensor/create';
export { Generator, manualSeed } from './tensor/random';
export { Fn, apply } from './autograd/fn';
export { backward } from './autograd/backward';
export { noGrad, isGradEnabled } from './autograd/grad-mode';
export * from './ops/index';
export * as ops from './ops/index';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from './io/safetensors';
export type { SafetensorsFile, TensorRecord } from './io/safetensors';
