import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Trainer } from '../src/cm/trainer';
import type { TrainConfig } from '../src/cm/config';
import type { ImageDataset } from '../src/data/dataset';
import { Generator, gpujsBackend, noGrad, randn, SimpleUNet, tensor, tidy, withBackend } from '../src/index';

// The webgpu backend's device stream (kernels/gpujs/stream.ts) on whatever adapter Dawn finds here
// (Mesa's software one in CI): how much device traffic a training step and a sampling batch make
// once kernels are compiled and buffers pooled, and that the batched path computes what the cpu
// backend computes.

function dataset(): ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 16 * 32 * 32 }, () => g.uniform() * 2 - 1);
  return { name: 'noise', images, labels: null, count: 16, channels: 1, height: 32, width: 32 };
}
const config: TrainConfig = { recipe: 'ict', width: 32, batch: 2, steps: 100, lr: 1e-3, seed: 11, emaRate: 0.999, cNoiseScale: 250 };

describe('webgpu device stream', () => {
  const be = gpujsBackend('webgpu');
  /** Device work of fn: launches, submits, buffers created (worker stats) and messages posted. */
  const traffic = (fn: () => void) => {
    const s0 = be.stats(), m0 = be.messagesPosted();
    fn();
    const m1 = be.messagesPosted(), s1 = be.stats();
    return {
      launches: s1.launches - s0.launches, submits: s1.submits - s0.submits,
      buffersCreated: s1.buffersCreated - s0.buffersCreated, messages: m1 - m0,
    };
  };

  it('a SimpleUNet CT step at batch 2, after two warm-up steps: <= 8 messages, <= 4 submits, <= 600 launches, no buffer created; losses equal cpu\'s over 5 steps', () => {
    const cpuLosses = withBackend('cpu', () => {
      const t = new Trainer(config, dataset());
      return Array.from({ length: 5 }, () => t.trainStep().loss);
    });
    withBackend('webgpu', () => {
      const t = new Trainer(config, dataset());
      // the warm-up steps measured as the later ones are (traffic() syncs with the device before and
      // after): which pooled buffers are free at each acquire depends on where the flushes fall, so
      // a step after unsynced ones may need a few more (5 here) before the pool is steady
      const losses: number[] = [];
      for (let i = 0; i < 2; i++) traffic(() => losses.push(t.trainStep().loss));
      for (let i = 0; i < 3; i++) {
        const step = traffic(() => losses.push(t.trainStep().loss));
        expect(step.messages).toBeLessThanOrEqual(8);
        expect(step.submits).toBeLessThanOrEqual(4);
        expect(step.launches).toBeLessThanOrEqual(600);
        expect(step.buffersCreated).toBe(0);
      }
      // float32 kernels that sum in another order: a few ulps per op, compounded over 5 steps of AdamW
      losses.forEach((loss, i) => expect(Math.abs(loss - cpuLosses[i]!)).toBeLessThanOrEqual(2e-5 * Math.abs(cpuLosses[i]!)));
    });
  });

  it('one-step sampling of SimpleUNet D=32: at most 60 launches in one submit', () => {
    withBackend('webgpu', () => {
      const net = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
      const run = (): void => tidy(() => noGrad(() => void net.forward(randn([4, 1, 32, 32]).mul(80), tensor([80, 80, 80, 80])).clamp(-1, 1).toArray()));
      run();
      const batch = traffic(run);
      expect(batch.launches).toBeLessThanOrEqual(60);
      expect(batch.submits).toBe(1);
      expect(batch.buffersCreated).toBe(0);
    });
  });

  it('training on webgpu checkpoints and resumes to the same weights as an uninterrupted run, close to cpu\'s', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'onestep-webgpu-')), 'checkpoint.safetensors');
    const weights = (t: Trainer) => Object.fromEntries(Object.entries(t.ema.stateDict()).map(([k, v]) => [k, Array.from(v.toArray())]));
    const [straight, resumed] = withBackend('webgpu', () => {
      const a = new Trainer(config, dataset());
      for (let i = 0; i < 4; i++) a.trainStep();
      const b = new Trainer(config, dataset());
      b.trainStep();
      b.trainStep();
      b.save(file);
      const c = Trainer.resume(file, dataset());
      c.trainStep();
      c.trainStep();
      return [weights(a), weights(c)];
    });
    expect(resumed).toEqual(straight);
    const onCpu = withBackend('cpu', () => {
      const t = new Trainer(config, dataset());
      for (let i = 0; i < 4; i++) t.trainStep();
      return weights(t);
    });
    // A weight whose Adam update flips sign between the backends (a gradient near zero, whose sign
    // float32 rounding decides) differs by up to 2 lr |m^ / sqrt(v^)| a step, and with the bias
    // corrections of (0.9, 0.999) |m^ / sqrt(v^)| <= 1.007 over the first 4 steps: by 2.014 k lr after
    // k steps. The EMA (rate 0.999) takes 1e-3 of the weights after each of the 4 steps:
    // 1e-3 x 2.014 lr x (1 + 2 + 3 + 4) = 2.014e-5 at lr 1e-3, so 2.1e-5. Float32 differences elsewhere are far below.
    for (const [name, values] of Object.entries(onCpu)) {
      straight[name]!.forEach((v, i) => expect(Math.abs(v - values[i]!), `${name}[${i}]`).toBeLessThanOrEqual(2.1e-5));
    }
  });
});
