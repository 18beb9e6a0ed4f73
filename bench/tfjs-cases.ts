// TensorFlow.js with its WebAssembly backend (XNNPACK, SIMD), for the side-by-side rows. Used
// only by the benchmark (a devDependency); its .wasm files load from node_modules, offline.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { convFlops, convName, type ConvKind } from './engine-cases';
import type { BenchCase } from './harness';
import { onTfjsBackend } from './tfjs-select';
import { tfjsCtStepCase, tfjsSampleCase } from './tfjs-step';

export async function initTfjsWasm(): Promise<string> {
  const require = createRequire(import.meta.url);
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js: the wasm backend failed to initialise.');
  await tf.ready();
  return tf.getBackend();
}

const BACKEND = 'tfjs-wasm';

function timed(make: () => tf.Tensor[], op: (inputs: tf.Tensor[]) => tf.Tensor): Pick<BenchCase, 'setup' | 'teardown'> {
  let inputs: tf.Tensor[] = [];
  return {
    setup: () => {
      inputs = make();
      return () => {
        const out = op(inputs);
        out.dataSync();
        out.dispose();
      };
    },
    teardown: () => inputs.forEach((t) => t.dispose()),
  };
}

export function tfjsGemmCase(n: number, name: string): BenchCase {
  return onTfjsBackend('wasm', {
    name, backend: BACKEND, flops: 2 * n ** 3,
    ...timed(() => [tf.randomNormal([n, n]), tf.randomNormal([n, n])], ([a, b]) => tf.matMul(a!, b!)),
  });
}

/**
 * TF.js is NHWC. Input gradient: its own Conv2DBackpropInput kernel (what its autograd runs). Its
 * wasm backend registers no Conv2DBackpropFilter, so training a conv net there fails; the weight
 * gradient row uses the fastest route it has: dW = conv2d over x with samples and channels swapped
 * and dy as a size x size filter (XNNPACK), transposes included.
 */
export function tfjsConvCase(kind: ConvKind, n: number, c: number, size: number): BenchCase {
  const shape: [number, number, number, number] = [n, size, size, c];
  const make = () => [tf.randomNormal(shape), tf.randomNormal([3, 3, c, c]), tf.randomNormal(shape)];
  const ops: Record<ConvKind, (t: tf.Tensor[]) => tf.Tensor> = {
    fwd: ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    dgrad: ([, w, dy]) => tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, shape, 1, 'same'),
    wgrad: ([x, , dy]) => {
      const input = tf.transpose(x!, [3, 1, 2, 0]) as tf.Tensor4D; // [c_in, H, W, n]
      const filter = tf.transpose(dy!, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, n, c_out]
      const dw = tf.conv2d(input, filter, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]); // [c_in, 3, 3, c_out]
      const out = tf.transpose(dw, [1, 2, 0, 3]);
      [input, filter, dw].forEach((t) => t.dispose());
      return out;
    },
  };
  return onTfjsBackend('wasm', { name: convName(kind, c, size, n), backend: BACKEND, flops: convFlops(c, size, n), ...timed(make, ops[kind]) });
}

export function tfjsQuickCases(): BenchCase[] {
  return [
    tfjsGemmCase(1024, 'gemm-1024'),
    ...(['fwd', 'dgrad', 'wgrad'] as const).map((k) => tfjsConvCase(k, 32, 64, 32)),
    tfjsCtStepCase(),
    tfjsSampleCase(),
  ];
}
