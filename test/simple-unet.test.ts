import { describe, expect, it } from 'vitest';
import { Generator, noGrad, randn, SimpleUNet, tensor } from '../src/index';
import { gradcheck } from './helpers/gradcheck';

/** The state-dict list written out from docs/contracts.md, Models, independently of the model code. */
function expectedNames(C: number, D: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const conv = (name: string, i: number, o: number) => {
    out[`${name}.weight`] = [o, i, 3, 3];
    out[`${name}.bias`] = [o];
  };
  const blk = (name: string, i: number, o: number) => {
    out[`${name}.0.weight`] = [i];
    out[`${name}.0.bias`] = [i];
    conv(`${name}.2`, i, o);
    out[`${name}.3.weight`] = [o];
    out[`${name}.3.bias`] = [o];
    conv(`${name}.5`, o, o);
  };
  conv('down.0', C, D);
  blk('down.1', D, D);
  blk('down.2', D, 2 * D);
  blk('down.3', 2 * D, 2 * D);
  [[2 * D, D], [2 * D, D], [2 * D, 2 * D], [2 * D, 2 * D]].forEach(([i, o], k) => {
    out[`time_downs.${k}.weight`] = [o!, i!];
    out[`time_downs.${k}.bias`] = [o!];
  });
  blk('mid', 2 * D, 2 * D);
  blk('up.0', 2 * D, 2 * D);
  blk('up.1', 4 * D, D);
  blk('up.2', D, D);
  conv('up.3', 2 * D, 2 * D);
  conv('last', 2 * D + C, C);
  return out;
}

describe('SimpleUNet', () => {
  for (const D of [32, 64]) {
    it(`has exactly the PyTorch state-dict names and shapes for D=${D}`, () => {
      const model = new SimpleUNet({ channels: 1, width: D }, { generator: new Generator(0) });
      const actual = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, [...v.shape]]));
      expect(actual).toEqual(expectedNames(1, D));
    });
  }

  it('maps [B, C, 32, 32] to the same shape, and is the identity at t = 0.002 (c_skip = 1, c_out = 0)', () => {
    const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
    const x = randn([2, 1, 32, 32], { generator: new Generator(2) });
    noGrad(() => {
      const y = model.forward(x, tensor([5, 0.002]));
      expect(y.shape).toEqual([2, 1, 32, 32]);
      const out = y.toArray(), inp = x.toArray();
      for (let i = 1024; i < 2048; i++) expect(out[i]).toBe(inp[i]);
      let differs = 0;
      for (let i = 0; i < 1024; i++) if (out[i] !== inp[i]) differs++;
      expect(differs).toBeGreaterThan(1000);
    });
  });

  it('rejects a width that is not a multiple of 32 and inputs of the wrong shape', () => {
    expect(() => new SimpleUNet({ channels: 1, width: 48 })).toThrow(/width 48 must be a positive multiple of 32/);
    const model = new SimpleUNet({ channels: 1, width: 32 });
    expect(() => model.forward(randn([2, 3, 8, 8]), tensor([1, 1]))).toThrow(/input must be \[B, 1, H, W\], got \[2, 3, 8, 8\]/);
    expect(() => model.forward(randn([2, 1, 8, 8]), tensor([1]))).toThrow(/noise levels t must be \[2\]/);
  });

  // At 4x4 the deepest GroupNorms see 2 values per group, where 1/sqrt(var + eps) bends on the
  // scale sqrt(eps) and central differences stop being accurate; 8x8 leaves 8 per group.
  it('passes a float64 gradient check through the whole network (input and noise level), 8x8 images', () => {
    const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(3) });
    model.to('float64');
    for (const p of model.parameters()) p.setRequiresGrad(false);
    const gen = new Generator(4);
    const x = { shape: [1, 1, 8, 8], values: Array.from({ length: 64 }, () => gen.normal()) };
    // the parameters are float64: no float32 backend comparison here (the layers have their own)
    gradcheck((xs, t) => model.forward(xs, t), [x, { shape: [1], values: [1.7] }], { compareBackends: false });
  });
});
