import { describe, expect, it } from 'vitest';
import { Generator, noGrad, randn, tensor } from '../src/index';
import { UNet } from '../src/nn/unet';
import { gradcheck } from './helpers/gradcheck';

const tiny = { channels: 1, modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [2], numHeads: 2 };

/** Replaces every parameter by small random values (the zero-initialised convs would hide most paths). */
function randomise(model: UNet, seed: number): void {
  const g = new Generator(seed);
  for (const p of model.parameters()) p.assign(randn([...p.shape], { generator: g, dtype: p.dtype }).mul(0.2).raw);
}

describe('UNet (ADM-style)', () => {
  it('has the official code’s module names and maps x to its own shape, exactly zero at initialisation', () => {
    const model = new UNet({ ...tiny, dropout: 0 }, { generator: new Generator(0) });
    const names = Object.keys(model.stateDict());
    for (const n of [
      'time_embed.0.weight', 'time_embed.2.weight', 'input_blocks.0.0.weight', 'input_blocks.1.0.in_layers.0.weight',
      'input_blocks.1.0.in_layers.2.weight', 'input_blocks.1.0.emb_layers.1.weight', 'input_blocks.1.0.out_layers.3.weight',
      'input_blocks.2.0.op.weight', 'input_blocks.3.0.skip_connection.weight', 'input_blocks.3.1.qkv.weight', 'input_blocks.3.1.proj_out.weight',
      'middle_block.0.in_layers.2.weight', 'middle_block.1.norm.weight', 'middle_block.2.out_layers.3.bias',
      'output_blocks.0.0.skip_connection.weight', 'output_blocks.1.2.conv.weight', 'out.0.weight', 'out.2.weight',
    ]) expect(names).toContain(n);
    expect(model.stateDict()['input_blocks.1.0.emb_layers.1.weight']!.shape).toEqual([64, 128]);
    expect(model.stateDict()['input_blocks.3.1.qkv.weight']!.shape).toEqual([192, 64, 1, 1]);
    const y = noGrad(() => model.forward(randn([2, 1, 8, 8]), tensor([0.1, -2])));
    expect(y.shape).toEqual([2, 1, 8, 8]);
    expect(Array.from(y.toArray()).every((v) => v === 0)).toBe(true);
  });

  it('passes a float64 gradient check through the whole network (input and time), with dropout masks replayed', () => {
    const model = new UNet({ ...tiny, dropout: 0.2 }, { generator: new Generator(1) }).to('float64');
    randomise(model, 2);
    for (const p of model.parameters()) p.setRequiresGrad(false);
    const g = new Generator(3);
    const x = { shape: [1, 1, 8, 8], values: Array.from({ length: 64 }, () => g.normal()) };
    gradcheck((xs, t) => {
      model.setDropoutSeed(7);
      return model.forward(xs, t);
    }, [x, { shape: [1], values: [0.3] }], { compareBackends: false }); // float64 parameters; the layers compare backends
  });

  it('draws the same dropout masks after the same seed, different ones otherwise, none in eval mode', () => {
    const model = new UNet({ ...tiny, dropout: 0.5 }, { generator: new Generator(4) });
    randomise(model, 5);
    const x = randn([1, 1, 8, 8], { generator: new Generator(6) }), t = tensor([1]);
    const run = (seed: number) => noGrad(() => { model.setDropoutSeed(seed); return Array.from(model.forward(x, t).toArray()); });
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    model.eval();
    expect(run(1)).toEqual(run(2));
  });

  it('is class-conditional when numClasses is set', () => {
    const model = new UNet({ ...tiny, dropout: 0, numClasses: 10 }, { generator: new Generator(8) });
    randomise(model, 9);
    const x = randn([2, 1, 8, 8], { generator: new Generator(10) }), t = tensor([1, 1]);
    const a = noGrad(() => Array.from(model.forward(x, t, [3, 3]).toArray()));
    const b = noGrad(() => Array.from(model.forward(x, t, [3, 4]).toArray()));
    expect(a.slice(0, 64)).toEqual(b.slice(0, 64));
    expect(a.slice(64)).not.toEqual(b.slice(64));
    // without labels: row K = 10 of label_emb.weight [K + 1, 4 modelChannels], "no label"
    expect(model.stateDict()['label_emb.weight']!.shape).toEqual([11, 4 * tiny.modelChannels]);
    expect(noGrad(() => Array.from(model.forward(x, t).toArray()))).toEqual(noGrad(() => Array.from(model.forward(x, t, [10, 10]).toArray())));
    expect(() => model.forward(x, t, [1])).toThrow(/UNet: 1 labels for 2 images/);
    expect(() => model.forward(x, t, [1, 11])).toThrow(/Embedding: index 11 is not in 0\.\.10/);
    expect(() => new UNet({ ...tiny, modelChannels: 48 })).toThrow(/multiple of 32/);
    expect(() => model.forward(randn([2, 1, 7, 7]), t, [1, 2])).toThrow(/multiples of 2 for 2 levels, got 7x7/);
  });
});
