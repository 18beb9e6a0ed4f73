import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, Generator, loadSafetensors, randn, saveSafetensors, tensor } from '../src/index';

const dir = () => mkdtempSync(join(tmpdir(), 'onestep-st-'));

describe('safetensors', () => {
  it('round-trips float32 and float64 tensors with metadata through a file', () => {
    const path = join(dir(), 'model.safetensors');
    const weights = {
      'down.0.weight': randn([4, 1, 3, 3], { generator: new Generator(3) }),
      'down.0.bias': tensor([0.5, -1, 2, 1e-8]),
      scalar: tensor(3.25),
      'ema.f64': randn([5], { dtype: 'float64', generator: new Generator(4) }),
    };
    saveSafetensors(path, weights, { model: 'SimpleUNet', width: '32', step: '1200' });
    const { tensors, metadata } = loadSafetensors(path);
    expect(metadata).toEqual({ model: 'SimpleUNet', width: '32', step: '1200' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(weights).sort());
    for (const [name, t] of Object.entries(weights)) {
      expect(tensors[name]!.shape).toEqual(t.shape);
      expect(tensors[name]!.dtype).toBe(t.dtype);
      expect(Array.from(tensors[name]!.toArray())).toEqual(Array.from(t.toArray()));
    }
  });

  it('reads a file laid out by hand as the format specifies', () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}';
    const bytes = new Uint8Array(8 + header.length + 8);
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(0, BigInt(header.length), true);
    bytes.set(Buffer.from(header), 8);
    dv.setFloat32(8 + header.length, 1.5, true);
    dv.setFloat32(8 + header.length + 4, -2, true);
    const file = decodeSafetensors(bytes);
    expect(file.metadata).toEqual({ k: 'v' });
    expect(file.tensors.get('a')!.shape).toEqual([2]);
    expect(Array.from(file.tensors.get('a')!.data)).toEqual([1.5, -2]);
  });

  it('writes an 8-byte-aligned header of JSON with dtype, shape and data_offsets', () => {
    const bytes = encodeSafetensors({ b: tensor([1, 2, 3]), a: tensor([[4]]) }, { step: '7' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header).toEqual({
      __metadata__: { step: '7' },
      a: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [3], data_offsets: [4, 16] },
    });
    expect(bytes.length).toBe(8 + n + 16);
  });

  it('refuses a file cut short by one byte, naming the problem', () => {
    const path = join(dir(), 'cut.safetensors');
    saveSafetensors(path, { w: randn([3, 3]) });
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    expect(() => loadSafetensors(path)).toThrow(/cut\.safetensors is not a valid safetensors file: tensor 'w' ends at data byte 36 but the file has only 35 data bytes \(file truncated\?\)/);
  });

  it('refuses malformed headers and missing files with clear messages', () => {
    expect(() => decodeSafetensors(new Uint8Array(5))).toThrow(/fewer than the 8-byte header length/);
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 1000n, true);
    expect(() => decodeSafetensors(big)).toThrow(/header claims 1000 bytes but only 8 follow/);
    const bad = new Uint8Array(8 + 3);
    new DataView(bad.buffer).setBigUint64(0, 3n, true);
    bad.set(Buffer.from('{x:'), 8);
    expect(() => decodeSafetensors(bad)).toThrow(/JSON header does not parse/);
    expect(() => loadSafetensors(join(dir(), 'nope.safetensors'))).toThrow(/cannot read .*nope\.safetensors: no such file/);
    expect(() => encodeSafetensors({ a: tensor([1]) }, { step: 3 as unknown as string })).toThrow(/metadata value for 'step' must be a string/);
  });

  it('writes atomically: no temporary file is left and an existing file is replaced whole', () => {
    const d = dir();
    const path = join(d, 'ckpt.safetensors');
    saveSafetensors(path, { a: tensor([1, 2]) });
    saveSafetensors(path, { a: tensor([3, 4, 5]) });
    expect(readdirSync(d)).toEqual(['ckpt.safetensors']);
    expect(Array.from(loadSafetensors(path).tensors.a!.toArray())).toEqual([3, 4, 5]);
    expect(() => saveSafetensors(join(d, 'missing-dir', 'x.safetensors'), { a: tensor([1]) })).toThrow(/could not write/);
    expect(readdirSync(d)).toEqual(['ckpt.safetensors']);
  });
});
