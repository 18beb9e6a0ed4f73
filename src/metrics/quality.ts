import { type ClassifierOutputs, MnistClassifier, argmax } from './classifier';
import { frechetDistance, gaussianStats, type GaussianStats } from './frechet';

export interface SampleQuality {
  /** Frechet distance between the classifier features of the images and of the reference set. */
  fd: number;
  n: number;
  /** Mean probability the classifier gives its predicted class. */
  confidence: number;
  /** Entropy of the histogram of predicted classes, in bits (log2 10 = 3.32 when all are equally common). */
  classEntropy: number;
  classCounts: number[];
  missingClasses: number[];
}

/** Fits the Gaussian of the classifier features of a set of images. */
export const featureStats = (out: ClassifierOutputs): GaussianStats => gaussianStats(out.features, out.count, MnistClassifier.FEATURES);

/** The metrics of `eval` for classified images against the reference statistics. */
export function sampleQuality(out: ClassifierOutputs, reference: GaussianStats): SampleQuality {
  const counts = new Array<number>(10).fill(0);
  let confidence = 0;
  for (let i = 0; i < out.count; i++) {
    const c = argmax(out.probabilities, i);
    counts[c]!++;
    confidence += out.probabilities[i * 10 + c]!;
  }
  let entropy = 0;
  for (const k of counts) if (k > 0) entropy -= (k / out.count) * Math.log2(k / out.count);
  return {
    fd: frechetDistance(featureStats(out), reference),
    n: out.count,
    confidence: confidence / out.count,
    classEntropy: entropy,
    classCounts: counts,
    missingClasses: counts.flatMap((k, c) => (k === 0 ? [c] : [])),
  };
}
