export { type ImageDataset, gatherImages, pickImages, BatchSampler, type SamplerState } from './dataset';
export { decodeIdx, readIdx, type IdxArray } from './idx';
export { loadMnist, mnistDirectory } from './mnist';
export { loadFashionMnist } from './fashion';
export { loadImageFolder, type ImageFolderOptions } from './image-folder';
export { loadDataset, isBuiltInDataset, type DatasetOptions } from './by-name';
export { loadIdxDataset, IDX_DATASET_MAX_VALUES, type IdxDatasetOptions } from './idx-dataset';
