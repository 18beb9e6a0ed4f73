import { noGrad } from '../autograd/grad-mode';
import { FormatError } from '../errors';
import { loadSafetensors, saveSafetensors } from '../io/safetensors-file';
import type { ImageDataset } from '../data/dataset';
import { BatchSampler, gatherImages } from '../data/dataset';
import { Conv2d, Linear, type InitOptions } from '../nn/layers';
import { Module } from '../nn/module';
import { crossEntropy } from '../ops/loss';
import { AdamW } from '../optim/adamw';
import { tensor } from '../tensor/create';
import { Generator } from '../tensor/random';
import { tidy } from '../tensor/scope';
import type { Tensor } from '../tensor/tensor';

/**
 * The small MNIST classifier whose penultimate features the Frechet distance is measured in (the
 * role Inception-v3 plays for FID): four 3x3 convolutions (32 channels at 32x32, then 64, 64, 128
 * at stride 2 down to 4x4), a 2048 -> 128 linear layer (the features, after SiLU) and 128 -> 10.
 * Input: [B, 1, 32, 32] in [-1, 1], as loadMnist and the consistency models produce.
 */
export class MnistClassifier extends Module {
  static readonly FEATURES = 128;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly conv4: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(init: InitOptions = {}) {
    super();
    this.conv1 = this.addModule('conv1', new Conv2d(1, 32, 3, { ...init, padding: 1 }));
    this.conv2 = this.addModule('conv2', new Conv2d(32, 64, 3, { ...init, stride: 2, padding: 1 }));
    this.conv3 = this.addModule('conv3', new Conv2d(64, 64, 3, { ...init, stride: 2, padding: 1 }));
    this.conv4 = this.addModule('conv4', new Conv2d(64, 128, 3, { ...init, stride: 2, padding: 1 }));
    this.fc1 = this.addModule('fc1', new Linear(128 * 4 * 4, MnistClassifier.FEATURES, init));
    this.fc2 = this.addModule('fc2', new Linear(MnistClassifier.FEATURES, 10, init));
  }

  /** The penultimate activations, [B, 128]. */
  features(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 1 || x.shape[2] !== 32 || x.shape[3] !== 32) {
      throw new Error(`MnistClassifier: input must be [B, 1, 32, 32] in [-1, 1], got [${x.shape.join(', ')}].`);
    }
    const h = this.conv4.forward(this.conv3.forward(this.conv2.forward(this.conv1.forward(x).silu()).silu()).silu()).silu();
    return this.fc1.forward(h.flatten(1)).silu();
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.features(x));
  }
}

/** The classifier saved in a safetensors file (`npm run mnist -- classifier`), in eval mode; a FormatError when the file holds something else. */
export function loadClassifier(path: string): MnistClassifier {
  const { tensors } = loadSafetensors(path);
  const model = new MnistClassifier();
  try {
    model.loadStateDict(tensors);
  } catch (e) {
    throw new FormatError(path, `not the MNIST classifier (${(e as Error).message})`);
  }
  return model.eval();
}

/**
 * Writes a trained classifier where loadClassifier reads it (atomically), with how it was trained
 * and its test accuracy in the metadata.
 */
export function saveClassifier(path: string, model: MnistClassifier, trained: ClassifierTrainOptions & { testAccuracy: number; minutes: number; backend: string }): void {
  const { epochs, batch, lr, seed, testAccuracy, minutes, backend } = trained;
  saveSafetensors(path, model.stateDict(), {
    model: 'MnistClassifier', epochs: String(epochs), batch: String(batch), lr: String(lr), seed: String(seed),
    test_accuracy: testAccuracy.toFixed(4), minutes: minutes.toFixed(1), backend,
  });
}

export interface ClassifierTrainOptions {
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** Called after every step with the epoch (fractional) and the step's loss. */
  onStep?: (epoch: number, loss: number) => void;
}

/**
 * Trains a classifier with AdamW and cross-entropy on shuffled batches of `train`, yielding to the
 * event loop between steps (progress bars redraw, Ctrl-C gets through).
 */
export async function trainClassifier(train: ImageDataset, opts: ClassifierTrainOptions): Promise<MnistClassifier> {
  if (!train.labels) throw new Error(`trainClassifier: dataset ${train.name} has no labels.`);
  const model = new MnistClassifier({ generator: new Generator(opts.seed) });
  const optimizer = new AdamW(model.parameters(), { lr: opts.lr, weightDecay: 1e-4 });
  const sampler = new BatchSampler(train.count, opts.batch, opts.seed + 1);
  const perEpoch = Math.floor(train.count / opts.batch);
  const labels = train.labels;
  for (let step = 0; step < opts.epochs * perEpoch; step++) {
    // cosine decay of the learning rate over the run
    await new Promise((done) => setImmediate(done));
    optimizer.lr = (opts.lr * (1 + Math.cos((Math.PI * step) / (opts.epochs * perEpoch)))) / 2;
    const indices = sampler.next();
    const loss = tidy(() => {
      const logits = model.forward(gatherImages(train, indices));
      return optimizer.minimize(crossEntropy(logits, Array.from(indices, (i) => labels[i]!)));
    });
    opts.onStep?.(step / perEpoch, loss);
  }
  model.eval();
  return model;
}

export interface ClassifierOutputs {
  /** [n, 128] penultimate features, row-major. */
  features: Float32Array;
  /** [n, 10] class probabilities. */
  probabilities: Float32Array;
  count: number;
}

/** Features and class probabilities of n images ([n, 1, 32, 32] row-major), in batches. */
export function classify(model: MnistClassifier, images: Float32Array, n: number, batch = 500): ClassifierOutputs {
  const per = 32 * 32;
  if (images.length !== n * per) throw new Error(`classify: ${images.length} values are not ${n} images of 1x32x32.`);
  const features = new Float32Array(n * MnistClassifier.FEATURES);
  const probabilities = new Float32Array(n * 10);
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    tidy(() => noGrad(() => {
      const x = tensor(images.subarray(start * per, (start + count) * per), { shape: [count, 1, 32, 32] });
      const f = model.features(x);
      features.set(f.toArray(), start * MnistClassifier.FEATURES);
      probabilities.set(model.fc2.forward(f).softmax(-1).toArray(), start * 10);
    }));
  }
  return { features, probabilities, count: n };
}

/** The fraction of rows whose most probable class is the label. */
export function accuracy(probabilities: Float32Array, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (argmax(probabilities, i) === labels[i]) right++;
  return right / labels.length;
}

export function argmax(probabilities: Float32Array, row: number): number {
  let best = 0;
  for (let c = 1; c < 10; c++) if (probabilities[row * 10 + c]! > probabilities[row * 10 + best]!) best = c;
  return best;
}
