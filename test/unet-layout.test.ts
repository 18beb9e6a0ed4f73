import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, noGrad, randn, tensor } from '../src/index';
import { UNet } from '../src/nn/unet';
import { loadConsistencyModel } from '../src/cm/load-file';
import { QKV_LAYOUT } from '../src/cm/qkv-layout';
import { specMetadata, networkSpecOf } from '../src/cm/network';
import { loadSafetensors, saveSafetensors } from '../src/io/safetensors-file';
import { FormatError } from '../src/errors';
import { gradcheck } from './helpers/gradcheck';
import { relativeToMax } from './helpers/relative-error';

const legacy = join(import.meta.dirname, 'fixtures/legacy-unet');
const dir = mkdtempSync(join(tmpdir(), 'onestep-unet-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function randomise(model: UNet, seed: number, scale = 0.2): void {
  const g = new Generator(seed);
  for (const p of model.parameters()) p.assign(randn([...p.shape], { generator: g, dtype: p.dtype }).mul(scale).raw);
}


describe('UNet files: the qkv layout', () => {
  const io = loadSafetensors(join(legacy, 'unet-4heads.io.safetensors')).tensors;
  const f = (path: string) => {
    const m = loadConsistencyModel(path);
    return noGrad(() => m.f(io.x!, io.sigma!)).toArray() as Float32Array;
  };

  it('loads a 4-head file an earlier onestep wrote ((head, three, d), no qkv_layout) and gives that version’s outputs', () => {
    const { metadata } = loadSafetensors(join(legacy, 'unet-4heads.safetensors'));
    expect(metadata.qkv_layout).toBeUndefined();
    expect(relativeToMax(f(join(legacy, 'unet-4heads.safetensors')), io.f!.toArray() as Float32Array)).toBeLessThan(1e-5);
  });

  it('reads the same weights differently when the file says they are in the official order', () => {
    const { tensors, metadata } = loadSafetensors(join(legacy, 'unet-4heads.safetensors'));
    const relabelled = join(dir, 'relabelled.safetensors');
    saveSafetensors(relabelled, tensors, { ...metadata, qkv_layout: QKV_LAYOUT });
    expect(relativeToMax(f(relabelled), io.f!.toArray() as Float32Array)).toBeGreaterThan(1e-3); // 100x the tolerance the right order meets
  });

  it('writes qkv_layout in every UNet file and reads its own files back unchanged', () => {
    const model = new UNet({ channels: 1, modelChannels: 32, channelMult: [1], numResBlocks: 0, attentionResolutions: [1], numHeads: 4, dropout: 0 }, { generator: new Generator(1) });
    randomise(model, 2);
    const meta: Record<string, string> = { ...specMetadata(networkSpecOf(model)), parametrization: 'official', height: '8' };
    expect(meta.qkv_layout).toBe(QKV_LAYOUT);
    const file = join(dir, 'own.safetensors');
    saveSafetensors(file, model.stateDict(), meta);
    const loaded = loadConsistencyModel(file).model as UNet;
    const x = randn([1, 1, 8, 8], { generator: new Generator(3) }), t = tensor([0.7]);
    expect(noGrad(() => loaded.forward(x, t)).toArray()).toEqual(noGrad(() => model.eval().forward(x, t)).toArray());
  });

  it('refuses an unknown qkv_layout and an earlier file whose first convolution is not the official width', () => {
    const { tensors, metadata } = loadSafetensors(join(legacy, 'unet-4heads.safetensors'));
    const unknown = join(dir, 'unknown.safetensors');
    saveSafetensors(unknown, tensors, { ...metadata, qkv_layout: 'head-three-d' });
    expect(() => loadConsistencyModel(unknown)).toThrow(FormatError);
    expect(() => loadConsistencyModel(unknown)).toThrow(/qkv_layout 'head-three-d' is unknown/);
    const wide = join(dir, 'wide.safetensors');
    saveSafetensors(wide, tensors, { ...metadata, unet: JSON.stringify({ ...JSON.parse(metadata.unet!), channelMult: [2] }) });
    expect(() => loadConsistencyModel(wide)).toThrow(/earlier onestep with channelMult \[2\].*channelMult\[0\] x modelChannels/);
    expect(existsSync(unknown)).toBe(true);
  });
});

describe('UNet: the official UNetModel’s options', () => {
  const base = { channels: 1, modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [2], dropout: 0 };
  const shapes = (model: UNet) => Object.fromEntries(Object.entries(model.stateDict()).map(([n, t]) => [n, t.shape]));

  it('resblockUpdown: ResBlocks in place of the down- and up-sampling layers, no conv of their own', () => {
    const s = shapes(new UNet({ ...base, resblockUpdown: true }));
    expect(s['input_blocks.2.0.in_layers.2.weight']).toEqual([32, 32, 3, 3]);
    expect(s['input_blocks.2.0.op.weight']).toBeUndefined();
    expect(s['output_blocks.1.2.in_layers.2.weight']).toEqual([64, 64, 3, 3]);
    expect(s['output_blocks.1.2.conv.weight']).toBeUndefined();
    const model = new UNet({ ...base, resblockUpdown: true }, { generator: new Generator(4) });
    randomise(model, 5);
    expect(noGrad(() => model.forward(randn([2, 1, 8, 8]), tensor([0.1, 1]))).shape).toEqual([2, 1, 8, 8]);
  });

  it('useScaleShiftNorm false: the embedding is one vector per channel, added before the norm', () => {
    expect(shapes(new UNet({ ...base, useScaleShiftNorm: false }))['input_blocks.1.0.emb_layers.1.weight']).toEqual([32, 128]);
    expect(shapes(new UNet(base))['input_blocks.1.0.emb_layers.1.weight']).toEqual([64, 128]);
  });

  it('channelMult below 1: the first convolution and the last have channelMult[0] x modelChannels channels', () => {
    const s = shapes(new UNet({ ...base, modelChannels: 64, channelMult: [0.5, 1] }));
    expect(s['input_blocks.0.0.weight']).toEqual([32, 1, 3, 3]);
    expect(s['out.2.weight']).toEqual([1, 32, 3, 3]);
    expect(() => new UNet({ ...base, channelMult: [0.5, 1] })).toThrow(/positive multiple of 32/);
  });

  it('numHeadChannels sets the heads by width; a width it does not divide is refused', () => {
    expect(() => new UNet({ ...base, numHeadChannels: 24 })).toThrow(/64 channels do not split into heads of numHeadChannels 24/);
    const model = new UNet({ ...base, numHeadChannels: 16, numHeadsUpsample: 3 }, { generator: new Generator(6) });
    randomise(model, 7);
    expect(noGrad(() => model.forward(randn([1, 1, 8, 8]), tensor([1]))).shape).toEqual([1, 1, 8, 8]);
    expect(() => new UNet({ ...base, numHeads: 3 })).toThrow(/64 channels do not split into 3 heads/);
  });

  it('noLabelRow false: K rows of label_emb, as official files, and no unconditional sampling', () => {
    const model = new UNet({ ...base, numClasses: 10, noLabelRow: false }, { generator: new Generator(8) });
    expect(model.stateDict()['label_emb.weight']!.shape).toEqual([10, 128]);
    const x = randn([2, 1, 8, 8]), t = tensor([1, 1]);
    expect(noGrad(() => model.forward(x, t, [0, 9])).shape).toEqual([2, 1, 8, 8]);
    expect(() => model.forward(x, t)).toThrow(/10 label rows and no "no label" row .* give a class for every image/);
    expect(() => model.forward(x, t, [0, 10])).toThrow(/index 10 is not in 0\.\.9/);
  });

  it('passes a float64 gradient check with ResBlock resampling, additive conditioning and 2 heads', () => {
    const model = new UNet({ ...base, resblockUpdown: true, useScaleShiftNorm: false, numHeads: 2 }, { generator: new Generator(9) }).to('float64');
    randomise(model, 10);
    for (const p of model.parameters()) p.setRequiresGrad(false);
    const g = new Generator(11);
    const x = { shape: [1, 1, 4, 4], values: Array.from({ length: 16 }, () => g.normal()) };
    gradcheck((xs, t) => model.forward(xs, t), [x, { shape: [1], values: [0.3] }], { compareBackends: false });
  });
});
