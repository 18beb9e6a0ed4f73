import * as tf from '@tensorflow/tfjs-core';
import type { BenchCase } from './harness';

export type TfjsBackend = 'wasm' | 'webgpu';

/**
 * tfjs-core has one active backend for the whole process, and the tfjs-wasm and tfjs-webgpu rows
 * share it. A TF.js case selects its backend before its setup makes any tensor (tf.setBackend is
 * async; the other backend stays initialised, its tensors alive), and its timed function refuses
 * to run on any other: a switch there would be timed, and a tensor used on the wrong backend would
 * be copied over silently.
 */
export function onTfjsBackend(backend: TfjsBackend, c: BenchCase): BenchCase {
  return {
    ...c,
    setup: async () => {
      if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js: the ${backend} backend failed to initialise.`);
      const run = await c.setup();
      return () => {
        if (tf.getBackend() !== backend) throw new Error(`${c.name} [${c.backend}]: TensorFlow.js's active backend is ${tf.getBackend()}.`);
        return run();
      };
    },
  };
}
