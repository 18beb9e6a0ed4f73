import { describe, expect, it } from 'vitest';
import { cm, Generator, randn, SimpleUNet, tensor, withBackend, type Tensor } from '../src/index';

// Sampling and editing run in chunks of `batch` images (bounded memory). Each image's noise for all
// steps is drawn together, image after image, so the result for a seed does not depend on the
// chunk size: bit for bit on cpu-reference (plain loops), to float32 rounding on cpu (which picks its
// JavaScript or wasm kernel, each summing in its own order, by tensor size).

const shape: [number, number, number] = [1, 8, 8];

interface Networks {
  f: cm.ConsistencyFunction;
  denoiser: cm.Denoiser;
}

/** The same computation at several batch sizes, on a backend (a network made there): the results, host side. */
function atBatches(backend: 'cpu' | 'cpu-reference', run: (nets: Networks, batch: number | undefined) => Tensor): Float32Array[] {
  return withBackend(backend, () => {
    const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
    const nets = { f: cm.simpleUNetConsistency(model, 'official', 250), denoiser: cm.edmDenoiser((x, t) => model.body(x, t), 250) };
    return [undefined, 7, 3, 1].map((batch) => Float32Array.from(run(nets, batch).toArray()));
  });
}

function expectSame(results: Float32Array[], tolerance: number): void {
  const [reference, ...others] = results;
  for (const other of others) {
    expect(other.length).toBe(reference!.length);
    let worst = 0;
    for (let i = 0; i < other.length; i++) worst = Math.max(worst, Math.abs(other[i]! - reference![i]!));
    if (tolerance === 0) expect(Array.from(other)).toEqual(Array.from(reference!));
    else expect(worst).toBeLessThanOrEqual(tolerance);
  }
}

describe('chunked sampling and editing', () => {
  const cases: [string, (nets: Networks, batch: number | undefined) => Tensor][] = [
    ['one-step sampling', ({ f }, batch) => cm.sample(f, { count: 7, shape, generator: new Generator(3), batch })],
    ['three-step sampling', ({ f }, batch) => cm.sample(f, { count: 7, shape, generator: new Generator(3), sigmas: [80, 10, 1], batch })],
    ['EDM sampling with churn', ({ denoiser }, batch) => cm.edmSample(denoiser, { count: 7, shape, generator: new Generator(4), steps: 4, churn: 10, batch })],
    ['inpainting', ({ f }, batch) => {
      const y = randn([7, ...shape], { generator: new Generator(5) }).clamp(-1, 1);
      const mask = tensor(Array.from({ length: 64 }, (_, i) => (i < 32 ? 1 : 0)), { shape: [1, 1, 8, 8] });
      return cm.inpaint(f, y, mask, { generator: new Generator(6), sigmas: [80, 5], batch });
    }],
    ['super-resolution', ({ f }, batch) => cm.superResolve(f, randn([7, 1, 2, 2], { generator: new Generator(7) }).clamp(-1, 1), 4, { generator: new Generator(8), sigmas: [80, 5], batch })],
    ['denoising', ({ f }, batch) => cm.denoise(f, randn([7, ...shape], { generator: new Generator(9) }), 0.5, batch)],
    ['interpolation', ({ f }, batch) => cm.interpolateLatents(f, randn([2, ...shape], { generator: new Generator(10) }), randn([2, ...shape], { generator: new Generator(11) }), [0, 0.3, 0.6, 1], batch)],
  ];
  for (const [name, run] of cases) {
    it(`${name}: the same result for every batch size`, () => {
      expectSame(atBatches('cpu-reference', run), 0);
      expectSame(atBatches('cpu', run), 1e-5);
    });
  }

  it('defaults to 256 images of 1x32x32 per batch, fewer for larger images', () => {
    expect(cm.defaultSampleBatch([1, 32, 32])).toBe(256);
    expect(cm.defaultSampleBatch([3, 64, 64])).toBe(21);
    expect(cm.defaultSampleBatch([3, 1024, 1024])).toBe(1);
    const f = cm.simpleUNetConsistency(new SimpleUNet({ channels: 1, width: 32 }), 'official', 250);
    expect(() => cm.sample(f, { count: 2, shape, generator: new Generator(0), batch: 0 })).toThrow(/batch must be an integer >= 1, got 0/);
  });
});
