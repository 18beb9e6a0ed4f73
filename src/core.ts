// The part of onestep's public API that runs anywhere: Node (index.ts adds files, datasets and
// training runs) and browsers (web.ts). Nothing here reaches Node's modules except through
// '#platform'.
export type { DType, Shape, TypedArray, Backend } from './backend/backend';
export { getBackend, setBackend, withBackend, gpujsBackend, init, cpuThreads, type BackendName, type EngineOptions } from './backends';
export { Tensor } from './tensor/tensor';
export { RawTensor } from './tensor/raw';
export { tidy, keep } from './tensor/scope';
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand } from './tensor/create';
export type { CreateOptions, RandomOptions } from './tensor/create';
export { Generator, manualSeed } from './tensor/random';
export { Fn, apply } from './autograd/fn';
export { backward } from './autograd/backward';
export { noGrad, isGradEnabled } from './autograd/grad-mode';
export * from './ops/index';
export * as ops from './ops/index';
export { InputError, FormatError, ConfigError, FileAccessError, DivergenceError } from './errors';
export { encodeSafetensors, decodeSafetensors, fileTensors } from './io/safetensors';
export type { SafetensorsFile, TensorRecord } from './io/safetensors';
export * from './io/torch/index';
export { imageGrid, imageFromRgba, type RgbaImage, type ImageValues } from './io/image-grid';
export { Module } from './nn/module';
export { Conv2d, Linear, GroupNorm, SiLU, Sequential, type Layer, type InitOptions } from './nn/layers';
export { SimpleUNet, type SimpleUNetConfig } from './nn/simple-unet';
export { AdamW, type AdamWOptions } from './optim/adamw';
export { emaUpdate } from './optim/ema';
export * as nn from './nn/index';
export * as optim from './optim/index';
