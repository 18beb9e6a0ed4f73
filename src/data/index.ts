export { type ImageDataset, gatherImages, BatchSampler, type SamplerState } from './dataset';
export { decodeIdx, readIdx, type IdxArray } from './idx';
export { loadMnist, mnistDirectory } from './mnist';
