import { RawTensor } from '../tensor/raw';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { mul } from './elementwise';

/**
 * Inverted dropout: zeroes each value with probability p and scales the rest by 1/(1-p). The mask
 * comes from `generator`, so two passes given generators in the same state drop the same values
 * (consistency training needs the same dropout in the online and target passes).
 */
export function dropout(x: Tensor, p: number, generator: Generator): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: probability must be in [0, 1), got ${p}.`);
  if (p === 0) return x;
  const keep = 1 / (1 - p);
  const mask = new Float32Array(x.size);
  generator.fillKeepMask(mask, p, keep);
  return mul(x, x.wrap(RawTensor.fromArray(mask, x.shape, x.dtype, x.raw.backend)));
}
