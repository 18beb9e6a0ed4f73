// The official UNetModel's files (test/fixtures/official-unet: state dicts saved by torch.save from a
// PyTorch network we wrote to the official architecture and checked against the official code
// there) converted and run here: F, the consistency function f and the EDM denoiser D to 1e-5.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noGrad, type Tensor } from '../src/index';
import { readTorchStateDict } from '../src/io/torch';
import { loadSafetensors, saveSafetensors } from '../src/io/safetensors-file';
import { convertOfficial } from '../src/cm/convert-official';
import { officialArgs } from '../src/cm/official-args';
import { networkBody } from '../src/cm/network';
import { officialConsistency } from '../src/cm/parametrization';
import { edmDenoiser } from '../src/cm/edm';
import { loadConsistencyModel, loadTeacher } from '../src/cm/load-file';
import { ConfigError, FormatError } from '../src/errors';
import { relativeToMax } from './helpers/relative-error';

const fixtures = join(import.meta.dirname, 'fixtures/official-unet');
const dir = mkdtempSync(join(tmpdir(), 'onestep-official-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIGS = {
  a: '1 head, attention in the input blocks, fp32',
  b: '4 heads, fp16',
  c: 'num_head_channels with resblock_updown',
  d: 'use_scale_shift_norm false with resblock_updown, fp16',
  e: 'class-conditional on 1000 classes (K label rows), num_heads_upsample, fp16',
  f: 'channel_mult 0.5,1: the first convolution at channel_mult[0] x model_channels',
  g: 'the official fp16 trainer’s file layout (views into two shared storages)',
};

function relativeError(ours: Tensor, ref: Tensor): number {
  expect(ours.shape).toEqual(ref.shape);
  return relativeToMax(ours, ref);
}

const read = (name: string) => {
  const pt = join(fixtures, `${name}.pt`);
  const args = officialArgs(JSON.parse(readFileSync(join(fixtures, `${name}.args.json`), 'utf8')), `${name}.args.json`);
  const io = loadSafetensors(join(fixtures, `${name}.io.safetensors`)).tensors;
  const labels = io.labels ? Array.from(io.labels.toArray(), Math.round) : undefined;
  return { pt, stateDict: readTorchStateDict(readFileSync(pt), pt), args, io, labels };
};

describe('official UNetModel files, converted', () => {
  for (const [name, what] of Object.entries(CONFIGS)) {
    it(`${name}: ${what}: F, f and D as the official network gives them`, () => {
      const { pt, stateDict, args, io, labels } = read(name);
      const { model } = convertOfficial(stateDict, args, 'consistency', pt);
      const x = io.x!, sigma = io.sigma!;
      const body = networkBody(model);
      noGrad(() => {
        const cIn = sigma.square().add(0.25).sqrt().reciprocal().reshape([-1, 1, 1, 1]);
        expect(relativeError(body(cIn.mul(x), sigma.log().mul(250), labels), io.F!)).toBeLessThan(1e-5);
        expect(relativeError(officialConsistency(body, 250)(x, sigma, labels), io.f!)).toBeLessThan(1e-5);
        expect(relativeError(edmDenoiser(body, 250)(x, sigma, labels), io.D!)).toBeLessThan(1e-5);
      });
    });
  }

  it('writes files that load as a consistency model (f) or a teacher (D), with the layout in the metadata', () => {
    const { pt, stateDict, args, io, labels } = read('e');
    for (const kind of ['consistency', 'edm'] as const) {
      const { tensors, metadata } = convertOfficial(stateDict, args, kind, pt);
      expect(metadata).toMatchObject({ model: 'UNet', width: '32', channels: '3', height: '16', num_classes: '1000', qkv_layout: 'three-head-d', c_noise_scale: '250' });
      expect(JSON.parse(metadata.unet!)).toMatchObject({ noLabelRow: false, numHeads: 2, numHeadsUpsample: 1 });
      const out = join(dir, `e-${kind}.safetensors`);
      saveSafetensors(out, tensors, metadata);
      const result = noGrad(() => (kind === 'edm' ? loadTeacher(out).denoiser(io.x!, io.sigma!, labels) : loadConsistencyModel(out).f(io.x!, io.sigma!, labels)));
      expect(relativeError(result, kind === 'edm' ? io.D! : io.f!)).toBeLessThan(1e-5);
    }
    const model = loadConsistencyModel(join(dir, 'e-consistency.safetensors'));
    expect(model.numClasses).toBe(1000);
    expect(() => model.f(io.x!, io.sigma!)).toThrow(/1000 label rows and no "no label" row/);
  });

  it('refuses settings that do not describe the file, naming what to check', () => {
    const { pt, stateDict, args } = read('c');
    expect(() => convertOfficial(stateDict, { ...args, resblock_updown: false }, 'consistency', pt)).toThrow(FormatError);
    expect(() => convertOfficial(stateDict, { ...args, resblock_updown: false }, 'consistency', pt)).toThrow(/does not fit the UNet its official settings describe .*resblock_updown.*names do not match/);
    expect(() => convertOfficial(stateDict, { ...args, use_scale_shift_norm: false }, 'consistency', pt)).toThrow(/has shape \[32, 128\] in the model|has shape \[64, 128\] in the checkpoint/);
    expect(() => convertOfficial(stateDict, { ...args, class_cond: true }, 'consistency', pt)).toThrow(/has no label_emb.weight.*set class_cond false/);
    expect(() => convertOfficial(stateDict, { ...args, learn_sigma: true }, 'consistency', pt)).toThrow(ConfigError);
    expect(() => officialArgs({ num_chanels: 32 }, 'args.json')).toThrow(/'num_chanels' is not a setting of the official create_model/);
    expect(() => officialArgs({ use_fp16: 'maybe' }, 'args.json')).toThrow(/use_fp16 must be a boolean/);
    expect(() => officialArgs({ image_size: 32, channel_mult: '' }, 'args.json')).not.toThrow();
    expect(() => convertOfficial(stateDict, officialArgs({ image_size: 32 }, 'args.json'), 'consistency', pt)).toThrow(/channel_mult "" has no default for image_size 32/);
  });
});
