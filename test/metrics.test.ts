import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { data, Generator, loadSafetensors, metrics, withBackend } from '../src/index';

// The Frechet distance and its matrix square root, against closed forms, in float64.

const { frechetDistance, gaussianStats, sqrtPsd, symmetricEigen } = metrics;
type Sym = metrics.SymmetricMatrix;

function randomOrthogonal(d: number, g: Generator): Float64Array {
  // Gram-Schmidt on a Gaussian matrix: columns of q are orthonormal
  const q = Float64Array.from({ length: d * d }, () => g.normal());
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q[i * d + j]! * q[i * d + k]!;
      for (let i = 0; i < d; i++) q[i * d + j]! -= dot * q[i * d + k]!;
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += q[i * d + j]! ** 2;
    for (let i = 0; i < d; i++) q[i * d + j]! /= Math.sqrt(norm);
  }
  return q;
}

/** Q diag(values) Q^T. */
function fromEigen(q: Float64Array, values: ArrayLike<number>, d: number): Sym {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += q[i * d + k]! * values[k]! * q[j * d + k]!;
    out[i * d + j] = s;
  }
  return { d, values: out };
}

const square = (m: Sym): Float64Array => {
  const { d, values: a } = m;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += a[i * d + k]! * a[k * d + j]!;
    out[i * d + j] = s;
  }
  return out;
};

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('matrix square root', () => {
  it('of random symmetric positive definite matrices squares back to them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 1e6 }), (d, seed) => {
        const g = new Generator(seed);
        const a = Float64Array.from({ length: d * d }, () => g.normal());
        // B = A A^T + 0.01 I: SPD, condition number up to ~1e4 for these sizes
        const b = new Float64Array(d * d);
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
          let s = i === j ? 0.01 : 0;
          for (let k = 0; k < d; k++) s += a[i * d + k]! * a[j * d + k]!;
          b[i * d + j] = s;
        }
        const r = sqrtPsd({ d, values: b });
        const back = square(r);
        const scale = maxAbs(b);
        for (let i = 0; i < d * d; i++) expect(Math.abs(back[i]! - b[i]!)).toBeLessThanOrEqual(1e-10 * scale);
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(r.values[i * d + j]).toBe(r.values[j * d + i]);
      }),
      { numRuns: 30 },
    );
  });

  it('recovers the eigenvalues of Q diag(v) Q^T', () => {
    const d = 12, g = new Generator(3);
    const v = Array.from({ length: d }, (_, i) => (i + 1) * 0.7);
    const { values } = symmetricEigen(fromEigen(randomOrthogonal(d, g), v, d));
    const sorted = Array.from(values).sort((x, y) => x - y);
    sorted.forEach((x, i) => expect(x).toBeCloseTo(v[i]!, 11));
  });
});

describe('Frechet distance', () => {
  it('of a feature set with itself is zero', () => {
    const g = new Generator(1);
    const n = 400, d = 16;
    const features = Float64Array.from({ length: n * d }, () => g.normal() * 2 + 1);
    const s = gaussianStats(features, n, d);
    expect(Math.abs(frechetDistance(s, s))).toBeLessThan(1e-9);
  });

  it('matches the closed form for diagonal covariances: |dmu|^2 + sum (sqrt a - sqrt b)^2', () => {
    const d = 10, g = new Generator(2);
    const mu1 = Float64Array.from({ length: d }, () => g.normal()), mu2 = Float64Array.from({ length: d }, () => g.normal());
    const a = Array.from({ length: d }, () => 0.1 + g.uniform() * 3), b = Array.from({ length: d }, () => 0.1 + g.uniform() * 3);
    const diag = (v: number[]): Sym => ({ d, values: Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? v[k / (d + 1)]! : 0)) });
    const expected = mu1.reduce((s, m, i) => s + (m - mu2[i]!) ** 2, 0) + a.reduce((s, x, i) => s + (Math.sqrt(x) - Math.sqrt(b[i]!)) ** 2, 0);
    const fd = frechetDistance({ mean: mu1, covariance: diag(a), count: 2 }, { mean: mu2, covariance: diag(b), count: 2 });
    expect(fd).toBeCloseTo(expected, 10);
  });

  it('matches the closed form when the covariances do not commute: S1 = c I, S2 = Q diag(b) Q^T', () => {
    const d = 9, g = new Generator(4), c = 1.7;
    const b = Array.from({ length: d }, () => 0.05 + g.uniform() * 4);
    const s2 = fromEigen(randomOrthogonal(d, g), b, d);
    const s1: Sym = { d, values: Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? c : 0)) };
    const mu = new Float64Array(d).fill(0.5), zero = new Float64Array(d);
    // Tr((c S2)^(1/2)) = sqrt(c) sum sqrt(b)
    const expected = d * 0.25 + d * c + b.reduce((s, x) => s + x, 0) - 2 * Math.sqrt(c) * b.reduce((s, x) => s + Math.sqrt(x), 0);
    expect(frechetDistance({ mean: mu, covariance: s1, count: 2 }, { mean: zero, covariance: s2, count: 2 })).toBeCloseTo(expected, 10);
  });

  it('of samples from two Gaussians approaches the distance between them as n grows', () => {
    const d = 4, g = new Generator(5);
    const draw = (n: number, shift: number, scale: number) => Float64Array.from({ length: n * d }, () => shift + scale * g.normal());
    const exact = d * 1 + d * (1 - 2) ** 2; // means differ by 1 per axis; std 1 vs 2
    const fd = (n: number) => frechetDistance(gaussianStats(draw(n, 0, 1), n, d), gaussianStats(draw(n, 1, 2), n, d));
    expect(Math.abs(fd(40000) - exact)).toBeLessThan(0.1);
  });

  it('refuses mismatched inputs with the counts', () => {
    expect(() => gaussianStats(new Float64Array(10), 3, 4)).toThrow(/10 values are not 3 rows of 4/);
    expect(() => gaussianStats(new Float64Array(4), 1, 4)).toThrow(/at least 2 feature rows/);
  });
});

describe('the committed classifier and npm run mnist -- eval', () => {
  const committed = 'examples/checkpoints/mnist-classifier.safetensors';

  // These check the committed weights and the command, not a backend: they run on `cpu` whatever
  // ONESTEP_BACKEND says (10,000 digits through a CNN take minutes on a software WebGPU adapter).
  it('the committed classifier is right on at least 99% of the 10,000 MNIST test digits', () => {
    withBackend('cpu', () => {
      const model = new metrics.MnistClassifier();
      model.loadStateDict(loadSafetensors(committed).tensors);
      model.eval();
      const test = data.loadMnist('test');
      const out = metrics.classify(model, test.images, test.count);
      expect(metrics.accuracy(out.probabilities, test.labels!)).toBeGreaterThanOrEqual(0.99);
    });
  });

  it('eval is deterministic for a seed, reports every metric, and real digits score far below samples', () => {
    const run = () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/mnist.ts', 'eval', '--n', '500', '--seed', '3', '--json', '--backend', 'cpu'], {
        encoding: 'utf8', timeout: 300_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    };
    const a = run(), b = run();
    for (const key of ['fd', 'n', 'steps', 'confidence', 'class_entropy', 'seconds', 'fd_real_train_vs_test']) expect(a).toHaveProperty(key);
    const { seconds: _a, ...restA } = a;
    const { seconds: _b, ...restB } = b;
    expect(restA).toEqual(restB);
    expect(a.n).toBe(500);
    expect(a.steps).toBe(1);
    expect(a.fd_real_train_vs_test).toBeLessThan(a.fd / 3);
  });
});
