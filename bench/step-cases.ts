import { AdamW, cm, Generator, gpujsBackend, keep, noGrad, randn, SimpleUNet, slice, tensor, tidy, withBackend, type BackendName, type Tensor } from '../src/index';
import type { BenchCase } from './harness';

const GPUJS = new Set(['webgpu', 'webasm', 'gpujs-cpu']);

/**
 * On a gpu.js backend: the timed function waits until the device has finished (not just until the
 * work was submitted), and the case records what one call costs in launches, submits and worker
 * messages (measured on a call after the first, so kernels are compiled and buffers pooled).
 */
function onDevice(c: BenchCase, backend: BackendName, run: () => void): () => void {
  if (!GPUJS.has(backend)) return run;
  const be = gpujsBackend(backend as 'webgpu');
  const timed = (): void => {
    run();
    be.sync();
  };
  timed();
  timed();
  const s0 = be.stats(), m0 = be.messagesPosted(), w0 = be.msWaited(), t0 = performance.now();
  timed();
  const t1 = performance.now(), w1 = be.msWaited(), m1 = be.messagesPosted(), s1 = be.stats();
  c.counters = {
    launches_per_step: s1.launches - s0.launches,
    submits_per_step: s1.submits - s0.submits,
    // the sync that ends each timed call is one of them
    messages_per_step: m1 - m0,
    buffers_created_per_step: s1.buffersCreated - s0.buffersCreated,
    // the main thread's own time (planning, the tensor engine, posting): the call less its waits
    host_ms_per_step: t1 - t0 - (w1 - w0),
  };
  return timed;
}

// A consistency-training step as the library runs it (cm.ctStep, the `seed` recipe: the online
// network at sigma_{i+1} with gradients, the EMA target at sigma_i without, squared distance,
// backward, AdamW, target EMA update), SimpleUNet D=32, batch 32, 1x32x32 images. tfjs-step.ts
// does the same in TensorFlow.js.

const SIZE = 32;

function models(width: number): { online: SimpleUNet; target: SimpleUNet } {
  const online = new SimpleUNet({ channels: 1, width }, { generator: new Generator(1) });
  const target = new SimpleUNet({ channels: 1, width }, { generator: new Generator(1) });
  return { online, target };
}

/** On `backend`: the models, data and every tensor of the timed step live there. */
export function ctStepCase(backend: BackendName = 'cpu', width = 32, batch = 32): BenchCase {
  const c: BenchCase = {
    name: `ct-step-simpleunet-d${width}-b${batch}`,
    backend,
    setup: () => withBackend(backend, () => {
      const { online, target } = models(width);
      const optimizer = new AdamW(online.parameters(), { lr: 1e-4 });
      const generator = new Generator(2);
      const x = randn([batch, 1, SIZE, SIZE], { generator }).clamp(-1, 1);
      const ctx: cm.CtStepContext = {
        levels: cm.seedLevels(10, 100), student: (xs, s) => online.forward(xs, s), target: (xs, s) => target.forward(xs, s), targetModel: target,
        model: online, optimizer, generator,
      };
      let step = 0;
      return onDevice(c, backend, () => withBackend(backend, () => void cm.ctStep(ctx, x, step++)));
    }),
  };
  return c;
}

export function sampleCase(backend: BackendName = 'cpu', width = 32, batch = 32): BenchCase {
  const c: BenchCase = {
    name: `sample-1step-simpleunet-d${width}-b${batch}`,
    backend,
    setup: () => withBackend(backend, () => {
      const { online } = models(width);
      const gen = new Generator(3);
      const t = tensor(new Array(batch).fill(80));
      return onDevice(c, backend, () => withBackend(backend, () =>
        tidy(() => noGrad(() => void online.forward(randn([batch, 1, SIZE, SIZE], { generator: gen }).mul(80), t).clamp(-1, 1).toArray()))));
    }),
  };
  return c;
}

export const CHAIN_LAUNCHES = 2000;

/** A chain of 2,000 adds of 16 elements through the tensor API, timed until the result is read back: the cost of one launch. */
export function launchChainCase(backend: BackendName): BenchCase {
  return {
    name: `launch-chain-${CHAIN_LAUNCHES}-add16`,
    backend,
    launches: CHAIN_LAUNCHES,
    setup: () => withBackend(backend, () => {
      // Small tensors made from arrays would stay on the host and add there (kernels/gpujs/backend.ts):
      // these are slices of a large uploaded tensor, made on the device, as TF.js's are with
      // WEBGPU_CPU_FORWARD off.
      const onDevice = (v: number): Tensor => keep(slice(tensor(new Array(8192).fill(v)), [0], [16]));
      const x0 = onDevice(1), y = onDevice(0.5);
      return () => withBackend(backend, () => tidy(() => {
        let x = x0;
        for (let i = 0; i < CHAIN_LAUNCHES; i++) x = x.add(y);
        x.toArray();
      }));
    }),
  };
}
