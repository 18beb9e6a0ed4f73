import { AdamW, emaUpdate, Generator, mul, noGrad, randn, SimpleUNet, tensor, type Tensor } from '../src/index';
import type { BenchCase } from './harness';

// A consistency-training step of the default model, as training runs it: the online network at
// sigma_{i+1} with gradients, the target (EMA) network at sigma_i without, squared distance,
// backward, AdamW, EMA update. SimpleUNet D=32, batch 32, 1x32x32 images.

const BATCH = 32, WIDTH = 32, SIZE = 32;

function models(): { online: SimpleUNet; target: SimpleUNet } {
  const online = new SimpleUNet({ channels: 1, width: WIDTH }, { generator: new Generator(1) });
  const target = new SimpleUNet({ channels: 1, width: WIDTH }, { generator: new Generator(1) });
  return { online, target };
}

export function ctStep(online: SimpleUNet, target: SimpleUNet, opt: AdamW, x: Tensor, gen: Generator): number {
  const z = randn([BATCH, 1, SIZE, SIZE], { generator: gen });
  const s1 = tensor(Array.from({ length: BATCH }, () => 0.5 + 10 * gen.uniform()));
  const s0 = s1.mul(0.8);
  const col = (s: Tensor) => s.reshape([BATCH, 1, 1, 1]);
  const pred = online.forward(x.add(mul(col(s1), z)), s1);
  const goal = noGrad(() => target.forward(x.add(mul(col(s0), z)), s0));
  const loss = pred.sub(goal).square().mean();
  opt.zeroGrad();
  loss.backward();
  opt.step();
  noGrad(() => emaUpdate(target.parameters(), online.parameters(), 0.95));
  return loss.item();
}

export function ctStepCase(): BenchCase {
  return {
    name: `ct-step-simpleunet-d${WIDTH}-b${BATCH}`,
    backend: 'cpu',
    setup: () => {
      const { online, target } = models();
      const opt = new AdamW(online.parameters(), { lr: 1e-4 });
      const gen = new Generator(2);
      const x = randn([BATCH, 1, SIZE, SIZE], { generator: gen }).clamp(-1, 1);
      return () => void ctStep(online, target, opt, x, gen);
    },
  };
}

export function sampleCase(): BenchCase {
  return {
    name: `sample-1step-simpleunet-d${WIDTH}-b${BATCH}`,
    backend: 'cpu',
    setup: () => {
      const { online } = models();
      const gen = new Generator(3);
      const t = tensor(new Array(BATCH).fill(80));
      return () => noGrad(() => void online.forward(randn([BATCH, 1, SIZE, SIZE], { generator: gen }).mul(80), t).clamp(-1, 1).toArray());
    },
  };
}
