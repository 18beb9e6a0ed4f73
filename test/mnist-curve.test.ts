import { describe, expect, it } from 'vitest';
import { cm, Generator, metrics, type data } from '../src/index';

// The MNIST learning curve (src/cm/mnist-curve.ts): FD per curve sampler, and for a class-conditional
// run the classifier's agreement with the class asked beside each FD, as eval --class-conditional reports.

const classifier = metrics.loadClassifier('examples/checkpoints/mnist-classifier.safetensors');

function digits(classConditional: boolean): data.ImageDataset {
  const g = new Generator(7);
  const images = Float32Array.from({ length: 10 * 32 * 32 }, () => g.uniform() * 2 - 1);
  const labels = classConditional ? Uint8Array.from({ length: 10 }, (_, i) => i) : null;
  return { name: 'mnist-tiny', images, labels, ...(classConditional && { classNames: '0123456789'.split('') }), count: 10, channels: 1, height: 32, width: 32 };
}

describe('mnistCurve', () => {
  it('a class-conditional run: each FD followed by the agreement eval measures for the same samples', () => {
    const run = new cm.Trainer(cm.trainConfig({ recipe: 'ict', batch: 2, steps: 1, classConditional: true }), digits(true));
    const curve = cm.mnistCurve(run, { every: 1, n: 20, classifier });
    const values = curve.measure(run);
    expect(Object.keys(values)).toEqual(['fd_1step_n20', 'agreement_1step_n20', 'fd_2step_n20', 'agreement_2step_n20']);
    const labels = Array.from({ length: 20 }, (_, i) => i % 10);
    run.recipe.curve.forEach(([name, settings]) => {
      const measured = metrics.measureMnistSamples(run.drawer(settings), { classifier, n: 20, seed: 0, labels });
      expect([values[`fd_${name}_n20`], values[`agreement_${name}_n20`]]).toEqual([measured.samples.fd, measured.classAgreement]);
    });
    const line = cm.describeCurvePoint(curve, { step: 1, minutes: 0.5, values });
    expect(line).toBe(`step 1 (0.5 min of training): FD 1step ${values.fd_1step_n20!.toFixed(1)} (agreement ${(100 * values.agreement_1step_n20!).toFixed(1)}%), ` +
      `FD 2step ${values.fd_2step_n20!.toFixed(1)} (agreement ${(100 * values.agreement_2step_n20!).toFixed(1)}%)`);
  });

  it('an unconditional run: FD columns only', () => {
    const run = new cm.Trainer(cm.trainConfig({ recipe: 'ict', batch: 2, steps: 1 }), digits(false));
    const curve = cm.mnistCurve(run, { every: 1, n: 20, classifier });
    const values = curve.measure(run);
    expect(Object.keys(values)).toEqual(['fd_1step_n20', 'fd_2step_n20']);
    expect(cm.describeCurvePoint(curve, { step: 1, minutes: 0.5, values })).not.toContain('agreement');
  });
});
