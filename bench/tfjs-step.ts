// The consistency-training step and 1-step sampling of step-cases.ts, written in TensorFlow.js
// (NHWC) on its wasm or webgpu backend, with the same SimpleUNet (weights copied from ours, checked
// to give the same output), the same loss, Adam with decoupled weight decay (AdamW) and the EMA update.
import * as tf from '@tensorflow/tfjs-core';
// The union package's Node bundle registers the gradient functions (tfjs-core's Node bundle has none).
import '@tensorflow/tfjs';
import { Generator, noGrad, randn, SimpleUNet, tensor } from '../src/index';
import type { BenchCase, Timed } from './harness';
import { onTfjsBackend, type TfjsBackend } from './tfjs-select';

type Params = Record<string, tf.Variable>;
type Conv3x3 = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
/** The two pieces whose best (or only working) form depends on the TF.js backend. */
interface Ops {
  conv3x3: Conv3x3;
  down2: (x: tf.Tensor4D) => tf.Tensor4D;
}

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
}) as Conv3x3;

function conv(p: Params, name: string, x: tf.Tensor4D, ops: Ops): tf.Tensor4D {
  return tf.add(ops.conv3x3(x, p[`${name}.weight`] as tf.Variable as unknown as tf.Tensor4D), p[`${name}.bias`]!);
}

function groupNorm(p: Params, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const g = tf.reshape(x, [b, h, w, 32, c / 32]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true);
  const normed = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))), [b, h, w, c]);
  return tf.add(tf.mul(normed, p[`${name}.weight`]!), p[`${name}.bias`]!);
}

const silu = (x: tf.Tensor4D): tf.Tensor4D => tf.mul(x, tf.sigmoid(x));

function block(p: Params, name: string, x: tf.Tensor4D, ops: Ops): tf.Tensor4D {
  const h = conv(p, `${name}.2`, silu(groupNorm(p, `${name}.0`, x)), ops);
  return conv(p, `${name}.5`, silu(groupNorm(p, `${name}.3`, h)), ops);
}

function down2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.slice(tf.reshape(x, [b, h / 2, 2, w / 2, 2 * c]), [0, 0, 0, 0, 0], [b, h / 2, 1, w / 2, c]), [b, h / 2, w / 2, c]);
}

/** The same in rank 4: TF.js-WebGPU's rank-5 pad (the slice's gradient) is WGSL that does not compile. */
function down2Rank4(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.slice(tf.reshape(x, [b * (h / 2), 2, w / 2, 2 * c]), [0, 0, 0, 0], [b * (h / 2), 1, w / 2, c]), [b, h / 2, w / 2, c]);
}

/** wasm: the custom weight gradient above; webgpu has Conv2DBackpropFilter, so tf.conv2d's own gradient. */
const OPS: Record<TfjsBackend, Ops> = {
  wasm: { conv3x3, down2 },
  webgpu: { conv3x3: (x, w) => tf.conv2d(x, w, 1, 'same'), down2: down2Rank4 },
};

const up2 = (x: tf.Tensor4D): tf.Tensor4D => tf.image.resizeNearestNeighbor(x, [2 * x.shape[1], 2 * x.shape[2]]);

/** SimpleUNet's forward (docs/contracts.md, Models) in NHWC. */
function forward(p: Params, width: number, xIn: tf.Tensor4D, t: tf.Tensor1D, ops: Ops): tf.Tensor4D {
  const freqs = tf.exp(tf.mul(tf.range(0, width), -Math.log(10000) / width));
  const args = tf.mul(tf.expandDims(t, 1), tf.expandDims(freqs, 0));
  const emb = tf.concat([tf.sin(args), tf.cos(args)], 1);
  const skips: tf.Tensor4D[] = [];
  let x = xIn;
  for (let idx = 0; idx < 4; idx++) {
    if (idx % 2 === 0) {
      x = ops.down2(idx === 0 ? conv(p, 'down.0', x, ops) : block(p, `down.${idx}`, x, ops));
      skips.push(x);
    } else {
      x = tf.add(block(p, `down.${idx}`, x, ops), x);
    }
    const te = tf.add(tf.matMul(emb, p[`time_downs.${idx}.weight`]!, false, true), p[`time_downs.${idx}.bias`]!);
    x = tf.add(x, tf.reshape(te, [te.shape[0]!, 1, 1, te.shape[1]!]));
  }
  x = block(p, 'mid', x, ops);
  for (let idx = 0; idx < 4; idx++) {
    if (idx % 2 === 0) x = tf.add(block(p, `up.${idx}`, x, ops), x);
    else {
      x = up2(tf.concat([x, skips.pop()!], 3));
      x = idx === 3 ? conv(p, 'up.3', x, ops) : block(p, `up.${idx}`, x, ops);
    }
  }
  const out = conv(p, 'last', tf.concat([x, xIn], 3), ops);
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
async function checkSameModel(model: SimpleUNet, p: Params, ops: Ops): Promise<void> {
  const x = randn([4, 1, SIZE, SIZE], { generator: new Generator(5) });
  const t = [0.5, 2, 10, 80];
  const ours = noGrad(() => model.forward(x, tensor(t)).permute([0, 2, 3, 1]).toArray());
  const out = tf.tidy(() => forward(p, WIDTH, tf.tensor4d(x.permute([0, 2, 3, 1]).toArray() as Float32Array, [4, SIZE, SIZE, 1]), tf.tensor1d(t), ops));
  const theirs = await out.data();
  out.dispose();
  let worst = 0;
  ours.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - theirs[i]!) / (1 + Math.abs(v)))));
  if (!(worst < 1e-4)) throw new Error(`TF.js (${tf.getBackend()}) SimpleUNet disagrees with onestep's by ${worst}; the comparison would not be of the same model.`);
}

/**
 * The gradients of mean(forward^2) for every weight, ours against TF.js's: the backward the CT step
 * times. Throws where they disagree beyond float32 rounding (per weight, relative to its largest).
 */
async function checkSameGradients(model: SimpleUNet, p: Params, ops: Ops): Promise<void> {
  const x = randn([2, 1, SIZE, SIZE], { generator: new Generator(6) });
  const t = [1, 20];
  model.forward(x, tensor(t)).square().mean().backward();
  const named = model.namedParameters();
  const { value, grads } = tf.variableGrads(() =>
    tf.mean(tf.square(forward(p, WIDTH, tf.tensor4d(x.permute([0, 2, 3, 1]).toArray() as Float32Array, [2, SIZE, SIZE, 1]), tf.tensor1d(t), ops))) as tf.Scalar,
  );
  const flat = tf.tidy(() => tf.concat(named.map(([name, w]) => {
    const g = grads[p[name]!.name]!;
    return tf.reshape(w.ndim === 4 ? tf.transpose(g, [3, 2, 0, 1]) : g, [-1]);
  })));
  const theirs = await flat.data();
  tf.dispose([value, flat, ...Object.values(grads)]);
  let offset = 0;
  for (const [name, w] of named) {
    const ours = w.grad!.toArray();
    let diff = 0, scale = 0;
    ours.forEach((v, i) => ((diff = Math.max(diff, Math.abs(v - theirs[offset + i]!))), (scale = Math.max(scale, Math.abs(v)))));
    offset += ours.length;
    if (!(diff <= 1e-3 * scale + 1e-7)) throw new Error(`TF.js (${tf.getBackend()}) gradient of ${name} disagrees with onestep's: max |diff| ${diff}, max |grad| ${scale}.`);
  }
  model.zeroGrad();
}

async function setupTf(backend: TfjsBackend, gradients = false): Promise<{ online: Params; target: Params; ops: Ops }> {
  const model = new SimpleUNet({ channels: 1, width: WIDTH }, { generator: new Generator(1) });
  const online = toTfParams(model);
  const ops = OPS[backend];
  await checkSameModel(model, online, ops);
  if (gradients) await checkSameGradients(model, online, ops);
  return { online, target: toTfParams(model), ops };
}

/**
 * The timed function: `body` under tidy, its result read back, then freed. webgpu has no
 * synchronous read in Node (its dataSync draws through an OffscreenCanvas), so there it is awaited.
 */
function readBack(backend: TfjsBackend, body: () => tf.Tensor): Timed {
  if (backend === 'wasm') {
    return () => {
      const out = tf.tidy(body);
      out.dataSync();
      out.dispose();
    };
  }
  return async () => {
    const out = tf.tidy(body);
    await out.data();
    out.dispose();
  };
}

export function tfjsCtStepCase(backend: TfjsBackend = 'wasm', batch = BATCH): BenchCase {
  let state: { online: Params; target: Params } | null = null;
  let opt: tf.Optimizer | null = null;
  return onTfjsBackend(backend, {
    name: `ct-step-simpleunet-d${WIDTH}-b${batch}`,
    backend: `tfjs-${backend}`,
    setup: async () => {
      const { online, target, ops } = (state = await setupTf(backend, true));
      const lr = 1e-4, weightDecay = 1e-2, mu = 0.95;
      opt = tf.train.adam(lr);
      const adam = opt;
      const x = tf.clipByValue(tf.randomNormal([batch, SIZE, SIZE, 1]), -1, 1);
      const names = Object.keys(online);
      return readBack(backend, () => {
        const z = tf.randomNormal([batch, SIZE, SIZE, 1]);
        const s1 = tf.add(tf.mul(tf.randomUniform([batch]), 10), 0.5) as tf.Tensor1D;
        const s0 = tf.mul(s1, 0.8) as tf.Tensor1D;
        const col = (s: tf.Tensor) => tf.reshape(s, [batch, 1, 1, 1]);
        const goal = forward(target, WIDTH, tf.add(x, tf.mul(col(s0), z)) as tf.Tensor4D, s0, ops);
        const { value, grads } = tf.variableGrads(() =>
          tf.mean(tf.square(tf.sub(forward(online, WIDTH, tf.add(x, tf.mul(col(s1), z)) as tf.Tensor4D, s1, ops), goal))) as tf.Scalar,
        );
        for (const n of names) online[n]!.assign(tf.mul(online[n]!, 1 - lr * weightDecay));
        adam.applyGradients(grads as Parameters<typeof adam.applyGradients>[0]);
        for (const n of names) target[n]!.assign(tf.add(tf.mul(target[n]!, mu), tf.mul(online[n]!, 1 - mu)));
        return value;
      });
    },
    teardown: () => {
      for (const p of [state?.online, state?.target]) for (const v of Object.values(p ?? {})) v.dispose();
      opt?.dispose();
    },
  });
}

export function tfjsSampleCase(backend: TfjsBackend = 'wasm', batch = BATCH): BenchCase {
  let state: { online: Params; target: Params } | null = null;
  return onTfjsBackend(backend, {
    name: `sample-1step-simpleunet-d${WIDTH}-b${batch}`,
    backend: `tfjs-${backend}`,
    setup: async () => {
      const { online, ops } = (state = await setupTf(backend));
      const t = tf.fill([batch], 80) as tf.Tensor1D;
      return readBack(backend, () => tf.clipByValue(forward(online, WIDTH, tf.mul(tf.randomNormal([batch, SIZE, SIZE, 1]), 80) as tf.Tensor4D, t, ops), -1, 1));
    },
    teardown: () => {
      for (const p of [state?.online, state?.target]) for (const v of Object.values(p ?? {})) v.dispose();
    },
  });
}
