import { describe, expect, it } from 'vitest';
import { AdamW, emaUpdate, tensor } from '../src/index';

describe('AdamW (PyTorch semantics)', () => {
  it('matches a hand-computed first step: decoupled decay, then lr * m_hat / (sqrt(v_hat) + eps)', () => {
    const p = tensor([1, -2], { requiresGrad: true });
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    p.mul(tensor([3, 4])).sum().backward(); // grad = [3, 4]
    opt.step();
    // step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) = 0.1 * sign(g)
    const expected = [1 * (1 - 0.05) - 0.1 * 3 / (3 + 1e-8), -2 * (1 - 0.05) - 0.1 * 4 / (4 + 1e-8)];
    Array.from(p.toArray()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  });
  it('clips the global gradient norm and warms the learning rate up linearly', () => {
    const p = tensor([0, 0], { requiresGrad: true });
    const opt = new AdamW([p], { lr: 1, weightDecay: 0, maxGradNorm: 1, warmupSteps: 4 });
    expect(opt.currentLr()).toBe(0.25);
    p.mul(tensor([30, 40])).sum().backward();
    opt.step();
    expect(opt.lastGradNorm).toBeCloseTo(50, 9);
    // the clipped gradient [0.6, 0.8] gives the same first Adam step (sign), scaled by lr 0.25
    Array.from(p.toArray()).forEach((v) => expect(v).toBeCloseTo(-0.25, 6));
    expect([opt.currentLr(), (opt.step_ = 3, opt.currentLr())]).toEqual([0.5, 1]);
  });
});

describe('EMA', () => {
  it('moves each copy towards its parameter: ema <- mu ema + (1 - mu) p', () => {
    const e = tensor([0, 10]), p = tensor([1, 0]);
    emaUpdate([e], [p], 0.9);
    Array.from(e.toArray()).forEach((v, i) => expect(v).toBeCloseTo([0.1, 9][i]!, 6));
    expect(() => emaUpdate([e], [], 0.9)).toThrow(/1 EMA tensors for 0 parameters/);
  });
});
