// The learning curve of a run on MNIST digits: FD of its EMA copy, as `eval` measures it.
import { ConfigError } from '../errors';
import { measureMnistSamples } from '../metrics/evaluate';
import type { MnistClassifier } from '../metrics/classifier';
import type { CurveOptions, CurvePoint } from './curve';
import type { Trainer } from './trainer';

export interface MnistCurveOptions {
  /** Measure every this many steps, and at the end. */
  every: number;
  /** Samples per point (FD depends on n, so the columns name it). */
  n: number;
  classifier: MnistClassifier;
  onPoint?: CurveOptions['onPoint'];
}

const DIGITS = '0,1,2,3,4,5,6,7,8,9';

/**
 * FD of the run's EMA copy against the MNIST test digits with each of its recipe's curve samplers
 * (1 and 2 steps; a teacher: 18 Heun steps),
 * as columns fd_NAME_nN; a class-conditional run draws the classes in turn, as eval
 * --class-conditional does, and adds after each FD the classifier's agreement with the class asked,
 * agreement_NAME_nN. Throws a ConfigError for a run that does not train on MNIST digits.
 */
export function mnistCurve(run: Trainer, opts: MnistCurveOptions): CurveOptions & { columns: [name: string, column: string][] } {
  if (!run.dataset.name.startsWith('mnist') || (run.classNames !== undefined && run.classNames.join() !== DIGITS)) {
    throw new ConfigError('curve', `curve: the MNIST learning curve measures MNIST digits with the MNIST classifier; this run trains on ${run.dataset.name}.`);
  }
  const { n, classifier } = opts;
  const labels = run.numClasses ? Array.from({ length: n }, (_, i) => i % 10) : undefined;
  const samplers = run.recipe.curve;
  const columns = samplers.map(([name]): [string, string] => [name, `fd_${name}_n${n}`]);
  return {
    every: opts.every,
    columns,
    measure: (t) => Object.fromEntries(samplers.flatMap(([, settings], i) => {
      const measured = measureMnistSamples(t.drawer(settings), { classifier, n, seed: 0, labels }), column = columns[i]![1];
      return [[column, measured.samples.fd], ...(labels ? [[agreementColumn(column), measured.classAgreement!]] : [])];
    })),
    onPoint: opts.onPoint,
  };
}

const agreementColumn = (fdColumn: string) => fdColumn.replace(/^fd_/, 'agreement_');

/** One line for a point of an mnistCurve: the step, the minutes of training and each FD (and agreement). */
export function describeCurvePoint(curve: ReturnType<typeof mnistCurve>, point: CurvePoint): string {
  const fds = curve.columns.map(([name, column]) => {
    const agreement = point.values[agreementColumn(column)];
    return `FD ${name} ${point.values[column]!.toFixed(1)}${agreement === undefined ? '' : ` (agreement ${(100 * agreement).toFixed(1)}%)`}`;
  }).join(', ');
  return `step ${point.step} (${point.minutes.toFixed(1)} min of training): ${fds}`;
}
