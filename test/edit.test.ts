import { describe, expect, it } from 'vitest';
import { cm, Generator, randn, SimpleUNet, tensor } from '../src/index';

// Zero-shot editing keeps what is known of the image, whatever the model: checked with untrained
// SimpleUNets (1 and 3 channels, 8x8), whose outputs are arbitrary, to float32 tolerance.

const model1 = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
const model3 = new SimpleUNet({ channels: 3, width: 32 }, { generator: new Generator(2) });
const f1 = cm.simpleUNetConsistency(model1, 'official', 250);
const f3 = cm.simpleUNetConsistency(model3, 'official', 250);
const images = (c: number, seed: number) => randn([3, c, 8, 8], { generator: new Generator(seed) }).clamp(-1, 1);
const sigmas = [80, 10, 1];

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('zero-shot editing', () => {
  it('inpainting leaves the known pixels exactly as they were and fills the rest', () => {
    const y = images(1, 3);
    const maskValues = Array.from({ length: 64 }, (_, i) => (Math.floor(i / 8) < 4 ? 1 : 0)); // top half known
    const mask = tensor(maskValues, { shape: [1, 1, 8, 8] });
    const out = cm.inpaint(f1, y, mask, { generator: new Generator(4), sigmas });
    const o = out.toArray(), yv = y.toArray();
    let changed = 0;
    for (let i = 0; i < o.length; i++) {
      if (maskValues[i % 64] === 1) expect(o[i]).toBe(yv[i]);
      else if (o[i] !== yv[i]) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    expect(Array.from(cm.inpaint(f1, y, mask, { generator: new Generator(4), sigmas }).toArray())).toEqual(Array.from(o));
  });

  it('super-resolution keeps every block mean of the low-resolution input', () => {
    const low = images(1, 5).reshape([3, 1, 8, 8]);
    const lowSmall = cm.blockMeans(low, 2); // [3, 1, 4, 4]
    const out = cm.superResolve(f1, lowSmall, 2, { generator: new Generator(6), sigmas });
    expect(out.shape).toEqual([3, 1, 8, 8]);
    expectClose(cm.blockMeans(out, 2).toArray(), lowSmall.toArray(), 1e-6);
  });

  it('colorization keeps the luminance', () => {
    const gray = cm.luminance(images(3, 7));
    const out = cm.colorize(f3, gray, { generator: new Generator(8), sigmas });
    expect(out.shape).toEqual([3, 3, 8, 8]);
    expectClose(cm.luminance(out).toArray(), gray.toArray(), 1e-6);
    expect(() => cm.colorize(f3, images(3, 7), { generator: new Generator(8) })).toThrow(/one luminance channel/);
  });

  it('denoising is one step at the known level; interpolation reproduces its end points', () => {
    const y = images(1, 9);
    const noisy = y.add(randn([3, 1, 8, 8], { generator: new Generator(10) }).mul(0.5));
    const a = cm.denoise(f1, noisy, 0.5).toArray();
    expect(Array.from(cm.denoise(f1, noisy, 0.5).toArray())).toEqual(Array.from(a));
    const z1 = randn([2, 1, 8, 8], { generator: new Generator(11) }), z2 = randn([2, 1, 8, 8], { generator: new Generator(12) });
    const path = cm.interpolateLatents(f1, z1, z2, [0, 0.5, 1]);
    expect(path.shape).toEqual([6, 1, 8, 8]);
    const ends = cm.interpolateLatents(f1, tensor([...z1.toArray(), ...z2.toArray()], { shape: [4, 1, 8, 8] }), tensor([...z1.toArray(), ...z2.toArray()], { shape: [4, 1, 8, 8] }), [0]);
    const p = path.toArray(), e = ends.toArray();
    // pair 0 at alpha 0 is z1[0]'s one-step sample, at alpha 1 z2[0]'s
    expectClose(p.subarray(0, 64), e.subarray(0, 64), 1e-5);
    expectClose(p.subarray(2 * 64, 3 * 64), e.subarray(2 * 64, 3 * 64), 1e-5);
  });
});
