// npm run convert (examples/convert.ts): an official checkpoint to a file sample/edit/eval read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cm, loadSafetensors, noGrad } from '../src/index';
import { relativeToMax } from './helpers/relative-error';

const convert = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'examples/convert.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
const fixtures = 'test/fixtures/official-unet';
const dir = mkdtempSync(join(tmpdir(), 'onestep-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run convert', () => {
  it('converts an fp16 official file as an EDM teacher that loadTeacher reads and that denoises as the official D', () => {
    const out = join(dir, 'b.safetensors');
    const r = convert(`${fixtures}/b.pt`, '--official-args', `${fixtures}/b.args.json`, '--kind', 'edm', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/b\.pt: an EDM denoiser, UNet of 0\.2M parameters on 16x16x3; written/);
    const io = loadSafetensors(`${fixtures}/b.io.safetensors`).tensors;
    const teacher = cm.loadTeacher(out);
    expect(relativeToMax(noGrad(() => teacher.denoiser(io.x!, io.sigma!)), io.D!)).toBeLessThan(1e-5);
    expect(loadSafetensors(out).metadata).toMatchObject({ parametrization: 'edm', converted_from: 'b.pt' });
  });

  it('says what is wrong with the flags and the files, exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [[`${fixtures}/b.pt`, '--official-args', `${fixtures}/b.args.json`], /--kind must be consistency or edm/],
      [[`${fixtures}/b.pt`, '--kind', 'edm'], /--official-args is required/],
      [[`${fixtures}/b.pt`, '--official-args', 'imagenet128', '--kind', 'edm'], /--official-args imagenet128 cannot be read .* a preset: imagenet64, lsun256/],
      [[`${fixtures}/b.pt`, '--official-args', 'imagenet64', '--kind', 'edm'], /b\.pt has no label_emb\.weight, so it is not class-conditional; set class_cond false/],
      [['test/fixtures/torch/legacy.pt', '--official-args', 'imagenet64', '--kind', 'edm'], /legacy\.pt/],
      [[`${fixtures}/b.pt`, '--official-args', join(dir, 'bad.json'), '--kind', 'edm'], /is not JSON/],
      [[`${fixtures}/b.pt`, '--oficial-args', 'x'], /Unknown option '--oficial-args'/],
    ];
    writeFileSync(join(dir, 'bad.json'), '{ image_size: 64 }');
    for (const [args, message] of cases) {
      const r = convert(...args, '--out', join(dir, 'never.safetensors'));
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).toMatch(/^error: /);
      expect(r.status).toBe(2);
    }
  });
});
