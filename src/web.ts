// The public API of onestep in a browser (npm run build:web bundles this file): core.ts, with
// models read from bytes (cm.consistencyModelFromBytes, data.decodeIdx) and images to and from canvas pixels
// (imageGrid, imageFromRgba). Call `await init({ backend, threads })` before the first tensor.
export * from './core';
export * as cm from './cm/portable';
export * as data from './data/portable';
