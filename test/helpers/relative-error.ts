import type { Tensor } from '../../src/index';

/** max |actual - expected| / max |expected|: the error relative to the reference's scale. */
export function relativeToMax(actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number>): number {
  const a = 'toArray' in actual ? actual.toArray() : actual, b = 'toArray' in expected ? expected.toArray() : expected;
  let worst = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst / scale;
}
