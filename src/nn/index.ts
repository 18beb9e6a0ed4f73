export { Module } from './module';
export { Conv2d, Linear, GroupNorm, SiLU, Sequential, type Layer, type InitOptions } from './layers';
export { SimpleUNet, type SimpleUNetConfig } from './simple-unet';
