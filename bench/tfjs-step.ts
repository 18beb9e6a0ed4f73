// The consistency-training step and 1-step sampling of step-cases.ts, written in TensorFlow.js
// (NHWC) on its wasm backend, with the same SimpleUNet (weights copied from ours, checked to give
// the same output), the same loss, Adam with decoupled weight decay (AdamW) and the EMA update.
import * as tf from '@tensorflow/tfjs-core';
// The union package's Node bundle registers the gradient functions (tfjs-core's Node bundle has none).
import '@tensorflow/tfjs';
import { Generator, noGrad, randn, SimpleUNet, tensor } from '../src/index';
import type { BenchCase } from './harness';

type Params = Record<string, tf.Variable>;

/** 3x3 'same' convolution whose weight gradient avoids the Conv2DBackpropFilter kernel the wasm backend lacks. */
const conv3x3 = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = inputs as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.conv2d(x, w, 1, 'same'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const dx = tf.conv2dTranspose(dy, ws, xs.shape, 1, 'same');
      const input = tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D; // [c_in, H, W, n]
      const filter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, n, c_out]
      const dw = tf.transpose(tf.conv2d(input, filter, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]), [1, 2, 0, 3]);
      return [dx, dw];
    },
  };
}) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

function conv(p: Params, name: string, x: tf.Tensor4D): tf.Tensor4D {
  return tf.add(conv3x3(x, p[`${name}.weight`] as tf.Variable as unknown as tf.Tensor4D), p[`${name}.bias`]!);
}

function groupNorm(p: Params, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const g = tf.reshape(x, [b, h, w, 32, c / 32]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true);
  const normed = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))), [b, h, w, c]);
  return tf.add(tf.mul(normed, p[`${name}.weight`]!), p[`${name}.bias`]!);
}

const silu = (x: tf.Tensor4D): tf.Tensor4D => tf.mul(x, tf.sigmoid(x));

function block(p: Params, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const h = conv(p, `${name}.2`, silu(groupNorm(p, `${name}.0`, x)));
  return conv(p, `${name}.5`, silu(groupNorm(p, `${name}.3`, h)));
}

function down2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.slice(tf.reshape(x, [b, h / 2, 2, w / 2, 2 * c]), [0, 0, 0, 0, 0], [b, h / 2, 1, w / 2, c]), [b, h / 2, w / 2, c]);
}

const up2 = (x: tf.Tensor4D): tf.Tensor4D => tf.image.resizeNearestNeighbor(x, [2 * x.shape[1], 2 * x.shape[2]]);

/** SimpleUNet's forward (DESIGN.md section 6) in NHWC. */
function forward(p: Params, width: number, xIn: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
  const freqs = tf.exp(tf.mul(tf.range(0, width), -Math.log(10000) / width));
  const args = tf.mul(tf.expandDims(t, 1), tf.expandDims(freqs, 0));
  const emb = tf.concat([tf.sin(args), tf.cos(args)], 1);
  const skips: tf.Tensor4D[] = [];
  let x = xIn;
  for (let idx = 0; idx < 4; idx++) {
    if (idx % 2 === 0) {
      x = down2(idx === 0 ? conv(p, 'down.0', x) : block(p, `down.${idx}`, x));
      skips.push(x);
    } else {
      x = tf.add(block(p, `down.${idx}`, x), x);
    }
    const te = tf.add(tf.matMul(emb, p[`time_downs.${idx}.weight`]!, false, true), p[`time_downs.${idx}.bias`]!);
    x = tf.add(x, tf.reshape(te, [te.shape[0]!, 1, 1, te.shape[1]!]));
  }
  x = block(p, 'mid', x);
  for (let idx = 0; idx < 4; idx++) {
    if (idx % 2 === 0) x = tf.add(block(p, `up.${idx}`, x), x);
    else {
      x = up2(tf.concat([x, skips.pop()!], 3));
      x = idx === 3 ? conv(p, 'up.3', x) : block(p, `up.${idx}`, x);
    }
  }
  const out = conv(p, 'last', tf.concat([x, xIn], 3));
  const s = tf.sub(t, 0.002);
  const cSkip = tf.reshape(tf.div(0.25, tf.add(tf.square(s), 0.25)), [-1, 1, 1, 1]);
  const cOut = tf.reshape(tf.div(tf.mul(0.25, s), tf.sqrt(tf.add(tf.square(t), 0.25))), [-1, 1, 1, 1]);
  return tf.add(tf.mul(cSkip, xIn), tf.mul(cOut, out));
}

/** Our weights in TF.js layout: conv [out, in, kh, kw] -> [kh, kw, in, out]; the rest as is. */
function toTfParams(model: SimpleUNet): Params {
  const out: Params = {};
  for (const [name, t] of Object.entries(model.stateDict())) {
    const v = tf.tensor(t.toArray(), [...t.shape]);
    out[name] = tf.variable(t.ndim === 4 ? tf.transpose(v, [2, 3, 1, 0]) : v, true);
    v.dispose();
  }
  return out;
}

const BATCH = 32, WIDTH = 32, SIZE = 32;

/** Runs both forwards on the same weights and input; throws if they disagree beyond float32 rounding. */
function checkSameModel(model: SimpleUNet, p: Params): void {
  const x = randn([4, 1, SIZE, SIZE], { generator: new Generator(5) });
  const t = [0.5, 2, 10, 80];
  const ours = noGrad(() => model.forward(x, tensor(t)).permute([0, 2, 3, 1]).toArray());
  const theirs = tf.tidy(() => forward(p, WIDTH, tf.tensor4d(x.permute([0, 2, 3, 1]).toArray() as Float32Array, [4, SIZE, SIZE, 1]), tf.tensor1d(t)).dataSync());
  let worst = 0;
  ours.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - theirs[i]!) / (1 + Math.abs(v)))));
  if (!(worst < 1e-4)) throw new Error(`TF.js SimpleUNet disagrees with onestep's by ${worst}; the comparison would not be of the same model.`);
}

function setupTf(): { online: Params; target: Params } {
  const model = new SimpleUNet({ channels: 1, width: WIDTH }, { generator: new Generator(1) });
  const online = toTfParams(model);
  checkSameModel(model, online);
  return { online, target: toTfParams(model) };
}

export function tfjsCtStepCase(): BenchCase {
  let state: { online: Params; target: Params } | null = null;
  return {
    name: `ct-step-simpleunet-d${WIDTH}-b${BATCH}`,
    backend: 'tfjs-wasm',
    setup: () => {
      state = setupTf();
      const { online, target } = state;
      const lr = 1e-4, weightDecay = 1e-2, mu = 0.95;
      const opt = tf.train.adam(lr);
      const x = tf.clipByValue(tf.randomNormal([BATCH, SIZE, SIZE, 1]), -1, 1);
      const names = Object.keys(online);
      return () => {
        tf.tidy(() => {
          const z = tf.randomNormal([BATCH, SIZE, SIZE, 1]);
          const s1 = tf.add(tf.mul(tf.randomUniform([BATCH]), 10), 0.5) as tf.Tensor1D;
          const s0 = tf.mul(s1, 0.8) as tf.Tensor1D;
          const col = (s: tf.Tensor) => tf.reshape(s, [BATCH, 1, 1, 1]);
          const goal = forward(target, WIDTH, tf.add(x, tf.mul(col(s0), z)) as tf.Tensor4D, s0);
          const { value, grads } = tf.variableGrads(() =>
            tf.mean(tf.square(tf.sub(forward(online, WIDTH, tf.add(x, tf.mul(col(s1), z)) as tf.Tensor4D, s1), goal))) as tf.Scalar,
          );
          for (const n of names) online[n]!.assign(tf.mul(online[n]!, 1 - lr * weightDecay));
          opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
          for (const n of names) target[n]!.assign(tf.add(tf.mul(target[n]!, mu), tf.mul(online[n]!, 1 - mu)));
          value.dataSync();
        });
      };
    },
    teardown: () => {
      for (const p of [state?.online, state?.target]) for (const v of Object.values(p ?? {})) v.dispose();
    },
  };
}

export function tfjsSampleCase(): BenchCase {
  let params: Params | null = null;
  return {
    name: `sample-1step-simpleunet-d${WIDTH}-b${BATCH}`,
    backend: 'tfjs-wasm',
    setup: () => {
      params = setupTf().online;
      const t = tf.fill([BATCH], 80) as tf.Tensor1D;
      return () => tf.tidy(() => void tf.clipByValue(forward(params!, WIDTH, tf.mul(tf.randomNormal([BATCH, SIZE, SIZE, 1]), 80) as tf.Tensor4D, t), -1, 1).dataSync());
    },
    teardown: () => Object.values(params ?? {}).forEach((v) => v.dispose()),
  };
}

