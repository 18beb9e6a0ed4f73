import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors, SimpleUNet } from '../src/index';

// The example as a user runs it: bad input exits with code 2 and a message naming the flag.
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'examples/mnist.ts', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('npm run mnist (examples/mnist.ts)', () => {
  it('documents every flag in --help', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const flag of ['--dataset', '--model', '--recipe', '--steps', '--batch', '--width', '--lr', '--ema', '--seed', '--out', '--resume',
      '--sample-every', '--checkpoint-every', '--backend', '--ckpt', '--n', '--sigmas', '--raw',
      '--epochs', '--classifier', '--real', '--json', '--task', '--teacher', '--intervals', '--target-ema', '--distance', '--ect-stages']) expect(r.stdout).toContain(flag);
  });
  it('names the flag and the fix for bad values', () => {
    const cases: [string[], RegExp][] = [
      [['--steps', 'x'], /--steps must be an integer >= 1, got 'x'/],
      [['--lr=-1'], /--lr must be a positive number, got '-1'/],
      [['--lr', '-1'], /Option '--lr' argument is ambiguous/],
      [['--recipe', 'fast'], /--recipe must be 'ict', 'ect' or 'seed', got 'fast'/],
      [['--width', '48'], /--width must be a multiple of 32/],
      [['--recipe', 'ect', '--ect-stages', '0'], /--ect-stages must be an integer >= 1, got '0'/],
      [['--backend', 'gpu'], /Unknown backend 'gpu'. Available: cpu, cpu-reference, webgpu, webasm, gpujs-cpu, auto/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['sample', '--ckpt', 'nope.safetensors'], /--ckpt nope\.safetensors: no such file/],
      [['eval', '--classifier', 'none.safetensors'], /--classifier .*none\.safetensors: no such file \(train one with `npm run mnist -- classifier`\)/],
      [['eval', '--n', '1'], /--n must be an integer >= 2, got '1'/],
      [['classifier', '--epochs', '0'], /--epochs must be an integer >= 1, got '0'/],
      [['frobnicate'], /unknown command 'frobnicate'; use train, sample, classifier, eval, edit, teacher or distill/],
      [['distill'], /distill needs --teacher FILE \(train one with `npm run mnist -- teacher`\)/],
      [['distill', '--teacher', 'nope.safetensors'], /--teacher nope\.safetensors: no such file/],
      [['distill', '--teacher', 'examples/checkpoints/mnist-simpleunet-d32.safetensors', '--distance', 'l3'], /--distance must be l2, l1 or pseudo-huber, got 'l3'/],
      [['distill', '--teacher', 'examples/checkpoints/mnist-simpleunet-d32.safetensors'], /is not an EDM teacher \(its parametrization is 'official'\)/],
      [['edit', '--task', 'sharpen'], /--task must be one of inpaint, superres, denoise, interpolate, colorize, got 'sharpen'/],
      [['edit', '--task', 'colorize'], /colorize needs an RGB model/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('npm run mnist -- --help');
    }
  });

  it('samples from the committed checkpoint by default; its tensors carry exactly the model\'s names', () => {
    const { tensors, metadata } = loadSafetensors('examples/checkpoints/mnist-simpleunet-d32.safetensors');
    const model = new SimpleUNet({ channels: 1, width: 32 });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(model.stateDict()).sort());
    expect(metadata).toMatchObject({ model: 'SimpleUNet', width: '32', channels: '1', parametrization: 'official' });
    const out = mkdtempSync(join(tmpdir(), 'onestep-cli-'));
    const r = run('sample', '--n', '4', '--out', out);
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'samples-1step-seed0.png'))).toBe(true);
  });
});
