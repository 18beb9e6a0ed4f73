import { AdamW, cm, Generator, noGrad, randn, SimpleUNet, tensor, tidy, withBackend, type BackendName } from '../src/index';
import type { BenchCase } from './harness';

// A consistency-training step as the library runs it (cm.ctStep, the `seed` recipe: the online
// network at sigma_{i+1} with gradients, the EMA target at sigma_i without, squared distance,
// backward, AdamW, target EMA update), SimpleUNet D=32, batch 32, 1x32x32 images. tfjs-step.ts
// does the same in TensorFlow.js.

const BATCH = 32, WIDTH = 32, SIZE = 32;

function models(): { online: SimpleUNet; target: SimpleUNet } {
  const online = new SimpleUNet({ channels: 1, width: WIDTH }, { generator: new Generator(1) });
  const target = new SimpleUNet({ channels: 1, width: WIDTH }, { generator: new Generator(1) });
  return { online, target };
}

/** On `backend`: the models, data and every tensor of the timed step live there. */
export function ctStepCase(backend: BackendName = 'cpu'): BenchCase {
  return {
    name: `ct-step-simpleunet-d${WIDTH}-b${BATCH}`,
    backend,
    setup: () => withBackend(backend, () => {
      const { online, target } = models();
      const optimizer = new AdamW(online.parameters(), { lr: 1e-4 });
      const generator = new Generator(2);
      const x = randn([BATCH, 1, SIZE, SIZE], { generator }).clamp(-1, 1);
      const ctx: cm.CtStepContext = {
        recipe: 'seed', student: (xs, s) => online.forward(xs, s), target: (xs, s) => target.forward(xs, s), targetModel: target,
        model: online, optimizer, generator, totalSteps: 1000, epoch: 10, epochs: 100,
      };
      let step = 0;
      return () => withBackend(backend, () => void cm.ctStep(ctx, x, step++));
    }),
  };
}

export function sampleCase(backend: BackendName = 'cpu'): BenchCase {
  return {
    name: `sample-1step-simpleunet-d${WIDTH}-b${BATCH}`,
    backend,
    setup: () => withBackend(backend, () => {
      const { online } = models();
      const gen = new Generator(3);
      const t = tensor(new Array(BATCH).fill(80));
      return () => withBackend(backend, () =>
        tidy(() => noGrad(() => void online.forward(randn([BATCH, 1, SIZE, SIZE], { generator: gen }).mul(80), t).clamp(-1, 1).toArray())));
    }),
  };
}
