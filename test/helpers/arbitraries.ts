import fc from 'fast-check';
import type { GradInput } from './gradcheck';

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const shapeArb = (minDims = 0, maxDims = 3, maxSize = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxSize }), { minLength: minDims, maxLength: maxDims });

export const valuesArb = (n: number, min = -2, max = 2): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n });

export const inputArb = (shape: readonly number[], min = -2, max = 2): fc.Arbitrary<GradInput> =>
  valuesArb(size(shape), min, max).map((values) => ({ shape: [...shape], values }));

/** A shape that broadcasts to `shape`: some leading dimensions dropped, some others set to 1. */
export const broadcastOf = (shape: readonly number[]): fc.Arbitrary<number[]> =>
  fc
    .tuple(fc.integer({ min: 0, max: shape.length }), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.map((s, d) => (ones[d] ? 1 : s)).slice(drop));

/** Two shapes that broadcast together (either may be the smaller one). */
export const broadcastPairArb: fc.Arbitrary<[number[], number[]]> = shapeArb(0, 3).chain((full) =>
  fc.tuple(broadcastOf(full), broadcastOf(full)).map(([a, b]) => [a, b] as [number[], number[]]),
);

/** Values kept at least `gap` away from `points` (kinks of relu, abs, clamp). */
export const awayFrom = (values: number[], points: number[], gap = 1e-3): boolean =>
  values.every((v) => points.every((p) => Math.abs(v - p) > gap));

export const RUNS = { numRuns: 25 };
