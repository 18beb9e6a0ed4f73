// PyTorch checkpoints (torch.save's .pt files) read from bytes: the part that runs anywhere. The
// Node function that reads a path is in file.ts.
export { readTorchCheckpoint, readTorchStateDict, findStateDict } from './checkpoint';
export type { TorchValue, TorchReadOptions, TorchStateDictOptions } from './checkpoint';
export { TorchTensor, TorchStorage } from './tensor';
export { TorchGlobal } from './state-dict-rules';
export { torchTensorToFloat32, halfToFloat32, bfloat16ToFloat32 } from './float32';
export type { TorchDType, TorchData } from './dtypes';
