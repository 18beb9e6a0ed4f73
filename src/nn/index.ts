export { Module } from './module';
export { Conv2d, Linear, GroupNorm, SiLU, Sequential, Dropout, Embedding, type Layer, type InitOptions } from './layers';
export { SimpleUNet, type SimpleUNetConfig } from './simple-unet';
export { UNet, DEFAULT_UNET_CONFIG, type UNetConfig } from './unet';
