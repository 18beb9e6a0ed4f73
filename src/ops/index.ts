import './methods';

export * from './elementwise';
export * from './reduce';
export * from './movement';
export * from './matmul';
export * from './conv';
export * from './norm';
export * from './resample';
export * from './softmax';
export * from './loss';
export * from './dropout';
