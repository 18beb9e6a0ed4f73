// What of data runs anywhere (Node and browsers): batching, and datasets from bytes and pixels.
export { type ImageDataset, gatherImages, pickImages, BatchSampler, type SamplerState } from './dataset';
export { decodeIdx, type IdxArray } from './idx';
export { mnistFromIdx, MNIST_FILES, MNIST_CLASS_NAMES } from './mnist-bytes';
export { fashionFromJson, FASHION_FILES, FASHION_CLASS_NAMES } from './fashion-json';
export { folderLayout, imageListDataset, type FolderLayout, type ImageListOptions } from './image-list';
