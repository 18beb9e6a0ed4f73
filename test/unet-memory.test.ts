import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../kernels/cpu/index';
import { Generator, noGrad, randn, tensor, tidy, withBackend } from '../src/index';
import { UNet } from '../src/nn/unet';

// Sampling runs the network inside a tidy (cm.sample), which would hold every intermediate of the
// forward until it ends; without gradients the UNet frees each block's intermediates when the block
// returns, keeping only the block outputs (the skips).
describe('UNet forward memory', () => {
  it('without gradients, a caller\'s tidy holds the block outputs, not every intermediate', () => {
    const model = new UNet({ channels: 3, modelChannels: 32, channelMult: [1, 2, 2], numResBlocks: 2, attentionResolutions: [2] }, { generator: new Generator(1) });
    const x = randn([2, 3, 32, 32], { generator: new Generator(2) });
    const t = tensor([10, 200]);
    const heldDuringForward = (gradients: boolean): number => withBackend('cpu', () => {
      const before = cpuBackend.memoryStats().liveBytes;
      let held = 0;
      tidy(() => {
        const run = () => model.forward(x, t);
        if (gradients) run();
        else noGrad(run);
        held = cpuBackend.memoryStats().liveBytes - before;
      });
      return held;
    });
    const withGradients = heldDuringForward(true);
    const without = heldDuringForward(false);
    expect(without).toBeGreaterThan(0);
    expect(without).toBeLessThan(withGradients / 3);
  });
});
