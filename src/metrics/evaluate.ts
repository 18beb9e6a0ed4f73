import { BatchSampler, gatherImages } from '../data/dataset';
import { loadMnist } from '../data/mnist';
import { ConfigError } from '../errors';
import { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { argmax, classify, MnistClassifier, type ClassifierOutputs } from './classifier';
import { featureStats, sampleQuality, type SampleQuality } from './quality';

/** Something that draws images [count, 1, 32, 32] in [-1, 1] (cm.ImageSource fits). */
export interface ImageDrawer {
  shape: readonly number[];
  draw(count: number, generator: Generator, batch?: number, labels?: ArrayLike<number>): Tensor;
}

export interface MnistEvaluationOptions {
  classifier: MnistClassifier;
  /** How many images to draw and measure (at most the 60,000 training digits of the floor). */
  n: number;
  /** The sampling seed (also picks the real digits of the floor). */
  seed: number;
  /** Images drawn and classified at a time (default 250); the result does not depend on it. */
  batch?: number;
  /** Called after each batch with the images measured so far. */
  onProgress?: (done: number, total: number) => void;
  /** A class-conditional source: the class requested for each of the n images (MNIST digits 0-9). */
  labels?: ArrayLike<number>;
}

export interface MnistEvaluation {
  /** The samples' metrics against the 10,000 MNIST test digits (the real digits' own when no source was given). */
  samples: SampleQuality;
  /** The floor: n real training digits (a seeded choice) against the test digits. */
  realTrainVsTest: SampleQuality;
  /** With labels: the fraction of samples the classifier assigns to the class they were drawn for. */
  classAgreement?: number;
}

function classifyInBatches(classifier: MnistClassifier, n: number, batch: number, next: (count: number) => Float32Array, onProgress?: (d: number, t: number) => void): ClassifierOutputs {
  const features = new Float32Array(n * MnistClassifier.FEATURES), probabilities = new Float32Array(n * 10);
  for (let first = 0; first < n; first += batch) {
    const count = Math.min(batch, n - first);
    const out = classify(classifier, next(count), count);
    features.set(out.features, first * MnistClassifier.FEATURES);
    probabilities.set(out.probabilities, first * 10);
    onProgress?.(first + count, n);
  }
  return { features, probabilities, count: n };
}

// the test digits' features per classifier: every evaluation (and each point of a learning curve) measures against them
const testReferences = new WeakMap<MnistClassifier, ReturnType<typeof featureStats>>();

function testReference(classifier: MnistClassifier): ReturnType<typeof featureStats> {
  let reference = testReferences.get(classifier);
  if (!reference) {
    const test = loadMnist('test');
    reference = featureStats(classify(classifier, test.images, test.count));
    testReferences.set(classifier, reference);
  }
  return reference;
}

function checkSource(source: ImageDrawer | null): void {
  if (source && source.shape.join('x') !== '1x32x32') {
    throw new ConfigError('source', `the MNIST evaluation measures 1x32x32 digits; this model makes ${source.shape.join('x')} images.`);
  }
}

/**
 * The Frechet distance in the MNIST classifier's features (and confidence, class spread) of n
 * images drawn from `source` against the MNIST test digits, without the floor: what a learning
 * curve measures at each point (the test digits' features are computed once per classifier).
 */
export function measureMnistSamples(source: ImageDrawer, opts: MnistEvaluationOptions): Omit<MnistEvaluation, 'realTrainVsTest'> {
  if (!(Number.isInteger(opts.n) && opts.n >= 2)) throw new ConfigError('n', `n must be an integer >= 2, got ${opts.n}.`);
  checkSource(source);
  const reference = testReference(opts.classifier);
  const generator = new Generator(opts.seed);
  const labels = opts.labels === undefined ? undefined : Array.from(opts.labels);
  if (labels && labels.length !== opts.n) throw new ConfigError('labels', `labels: ${labels.length} classes for ${opts.n} images; give one per image.`);
  let drawnSoFar = 0;
  const drawn = classifyInBatches(opts.classifier, opts.n, opts.batch ?? 250, (count) => {
    const images = source.draw(count, generator, count, labels?.slice(drawnSoFar, drawnSoFar + count));
    drawnSoFar += count;
    const read = images.toArray(); // a fresh host copy
    const values = read instanceof Float32Array ? read : Float32Array.from(read);
    images.dispose();
    return values;
  }, opts.onProgress);
  const classAgreement = labels && labels.filter((k, i) => argmax(drawn.probabilities, i) === k).length / opts.n;
  return { samples: sampleQuality(drawn, reference), ...(labels ? { classAgreement } : {}) };
}

/**
 * The Frechet distance in the MNIST classifier's features (and confidence, class spread) of n
 * images drawn from `source`, against the MNIST test digits, beside the floor of n real training
 * digits. Without a source, the real digits are measured twice (the sanity check).
 */
export function evaluateMnist(source: ImageDrawer | null, opts: MnistEvaluationOptions): MnistEvaluation {
  const train = loadMnist('train');
  if (!(Number.isInteger(opts.n) && opts.n >= 2 && opts.n <= train.count)) {
    throw new ConfigError('n', `n must be an integer from 2 to ${train.count} (the training digits the floor uses), got ${opts.n}.`);
  }
  checkSource(source);
  const pick = Array.from(new BatchSampler(train.count, opts.n, opts.seed).next());
  let offset = 0;
  const real = classifyInBatches(opts.classifier, opts.n, opts.batch ?? 250, (count) => {
    const images = gatherImages(train, pick.slice(offset, offset + count));
    offset += count;
    const values = images.toArray() as Float32Array;
    images.dispose();
    return values;
  });
  const realTrainVsTest = sampleQuality(real, testReference(opts.classifier));
  if (!source) return { samples: realTrainVsTest, realTrainVsTest };
  return { ...measureMnistSamples(source, opts), realTrainVsTest };
}
