import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../kernels/cpu/index';
import { BufferPool } from '../kernels/cpu/pool';
import type { DType } from '../src/backend/backend';
import { Generator, noGrad, randn, SimpleUNet, tensor, tidy, withBackend } from '../src/index';
import { UNet } from '../src/nn/unet';

describe('the cpu backend reuses freed buffers', () => {
  it('hands a freed buffer back once, and only for the same size and dtype', () => {
    const pool = new BufferPool();
    const a = pool.alloc(5000, 'float32');
    a.fill(7);
    pool.dispose(a);
    pool.dispose(a); // twice: still one entry
    expect(pool.alloc(5000, 'float64')).not.toBe(a);
    expect(pool.alloc(5001, 'float32')).not.toBe(a);
    const b = pool.alloc(5000, 'float32');
    expect(b).toBe(a);
    expect(pool.alloc(5000, 'float32')).not.toBe(a);
    // views of a larger buffer and small buffers are left to the garbage collector
    const whole = new Float32Array(10000);
    pool.dispose(whole.subarray(0, 5000));
    pool.dispose(new Float32Array(10));
    expect(pool.idleBytes).toBe(0);
    const capped = new BufferPool(30000);
    capped.dispose(new Float32Array(5000));
    capped.dispose(new Float32Array(5000));
    expect(capped.idleBytes).toBe(20000);
  });

  it('tensors made from arrays come from the pool too, so a repeating step does not grow it', () => {
    withBackend('cpu', () => {
      const step = () => tidy(() => {
        tensor(new Float32Array(5000).fill(1), { shape: [5000] }).add(1).toArray();
        randn([4, 1, 32, 32], { generator: new Generator(1) }).cast('float64').sum().item();
      });
      step();
      const idle = cpuBackend.memoryStats().pooledBytes;
      for (let i = 0; i < 20; i++) step();
      expect(cpuBackend.memoryStats().pooledBytes).toBe(idle);
    });
  });

  it('sampling under tidy gives the same images with the pool warm as cold', () => {
    withBackend('cpu', () => {
      const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
      const t = tensor([80, 80, 80]);
      const draw = () => tidy(() => noGrad(() => model.forward(randn([3, 1, 16, 16], { generator: new Generator(4) }).mul(80), t).toArray()));
      const cold = draw();
      for (let i = 0; i < 3; i++) expect(draw()).toEqual(cold);
    });
  });
});

describe('every op writes all of its output (what lets the pool skip zeroing)', () => {
  // A backend whose fresh buffers are full of NaN: any op that left part of its output unwritten
  // would leak NaN into the loss or the gradients.
  const poisoned = { ...cpuBackend, name: 'cpu-poisoned', alloc: (size: number, dtype: DType) => cpuBackend.alloc(size, dtype).fill(Number.NaN) };
  const run = (makeModel: () => SimpleUNet | UNet) => {
    const model = makeModel();
    const g = new Generator(9);
    for (const p of model.parameters()) p.assign(randn([...p.shape], { generator: g }).mul(0.1).raw);
    const x = randn([2, 1, 8, 8], { generator: g }), t = tensor([0.5, 3]);
    const loss = model.forward(x, t).square().mean();
    loss.backward();
    return [loss.item(), ...model.parameters().flatMap((p) => Array.from(p.grad!.toArray() as ArrayLike<number>))];
  };
  const unetConfig = { channels: 1, modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [4], numHeads: 2, dropout: 0 };
  for (const [label, make] of [
    ['SimpleUNet', () => new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) })],
    ['UNet with attention', () => new UNet(unetConfig, { generator: new Generator(1) })],
  ] as const) {
    it(`${label}: loss and gradients on NaN-filled fresh buffers equal the cpu backend's`, () => {
      const expected = withBackend('cpu', () => run(make));
      const actual = withBackend(poisoned, () => run(make));
      expect(actual.every(Number.isFinite)).toBe(true);
      expect(actual).toEqual(expected);
    });
  }
});
