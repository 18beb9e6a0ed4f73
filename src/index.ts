// The public API of onestep in Node: core.ts, plus files, datasets, metrics and training runs.
export * from './core';
export { saveSafetensors, loadSafetensors, readSafetensorsMetadata } from './io/safetensors-file';
export { saveImageGrid, decodePng, PNG_MAX_PIXELS, type PngImage } from './io/png';
export { decodeJpeg, JPEG_MAX_PIXELS, type JpegImage } from './io/jpeg';
export { loadTorchStateDict } from './io/torch/file';
export * as cm from './cm/index';
export * as data from './data/index';
export * as metrics from './metrics/index';
