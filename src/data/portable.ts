// What of data runs anywhere (Node and browsers): batching and IDX from bytes.
export { type ImageDataset, gatherImages, pickImages, BatchSampler, type SamplerState } from './dataset';
export { decodeIdx, type IdxArray } from './idx';
