export { AdamW, type AdamWOptions } from './adamw';
export { emaUpdate } from './ema';
