import { describe, expect, it } from 'vitest';
import { cm, full, Generator, randn, tensor, type Tensor } from '../src/index';

// The EDM teacher's pieces and the consistency-distillation loss, against hand-worked cases.

const constant = (c: number) => (x: Tensor): Tensor => full([...x.shape], c);

describe('Heun step of the probability-flow ODE', () => {
  // With D(x, sigma) = a x the ODE dx/dsigma = (x - D)/sigma = (1 - a) x / sigma has the solution
  // x(sigma) = x0 (sigma / sigma0)^(1 - a).
  const linear = (a: number): cm.Denoiser => (x) => x.mul(a);

  it('matches the hand-computed step: x = 1, sigma 2 -> 1, D = x/2 gives 0.6875', () => {
    // d = (1 - 0.5)/2 = 0.25; Euler 1 - 0.25 = 0.75; d' = (0.75 - 0.375)/1 = 0.375; 1 - (0.25 + 0.375)/2
    const out = cm.heunStep(linear(0.5), tensor([1], { shape: [1, 1, 1, 1] }), tensor([2]), tensor([1]));
    expect(out.item()).toBeCloseTo(0.6875, 7);
  });

  it('is second-order accurate: halving the step quarters the error', () => {
    const solve = (steps: number): number => {
      let x = tensor([1], { shape: [1, 1, 1, 1], dtype: 'float64' });
      for (let i = 0; i < steps; i++) {
        const from = 2 - i / steps, to = 2 - (i + 1) / steps;
        x = cm.heunStep(linear(0.5), x, tensor([from], { dtype: 'float64' }), tensor([to], { dtype: 'float64' }));
      }
      return Math.abs(x.item() - Math.SQRT1_2);
    };
    const e4 = solve(4), e8 = solve(8), e16 = solve(16);
    expect(e4 / e8).toBeGreaterThan(3.5);
    expect(e4 / e8).toBeLessThan(4.5);
    expect(e8 / e16).toBeGreaterThan(3.7);
    expect(e8 / e16).toBeLessThan(4.3);
  });

  it('takes a plain Euler step to sigma = 0 and refuses mixed targets', () => {
    const x = tensor([3, 5], { shape: [2, 1, 1, 1] });
    // to 0: x + (0 - 1) (x - D)/1 = D
    expect(Array.from(cm.heunStep(constant(0.25), x, tensor([1, 1]), tensor([0, 0])).toArray())).toEqual([0.25, 0.25]);
    expect(() => cm.heunStep(constant(0), x, tensor([1, 1]), tensor([0, 0.5]))).toThrow(/0 for every image or for none/);
  });
});

describe('EDM scalings and loss weight', () => {
  it('follow the formulas, and lambda = 1 / c_out^2 (unit-variance training target)', () => {
    for (const sigma of [0.002, 0.1, 0.5, 2, 80]) {
      const { cSkip, cOut, cIn } = cm.edmScalings(sigma);
      const n2 = sigma * sigma + 0.25;
      expect(cSkip).toBeCloseTo(0.25 / n2, 14);
      expect(cOut).toBeCloseTo((sigma * 0.5) / Math.sqrt(n2), 14);
      expect(cIn).toBeCloseTo(1 / Math.sqrt(n2), 14);
      expect(cm.edmLossWeight(sigma) * cOut * cOut).toBeCloseTo(1, 12);
    }
  });

  it('the denoiser wraps the body as c_skip x + c_out F(c_in x, c_noise)', () => {
    const seen: number[] = [];
    const body = (x: Tensor, t: Tensor) => {
      seen.push(...t.toArray());
      return x.mul(2); // F(y) = 2 y
    };
    const d = cm.edmDenoiser(body, 250);
    const x = randn([2, 1, 2, 2], { generator: new Generator(1), dtype: 'float64' });
    const sigma = tensor([0.3, 7], { dtype: 'float64' });
    const out = d(x, sigma).toArray(), xv = x.toArray();
    [0.3, 7].forEach((s, b) => {
      const { cSkip, cOut, cIn } = cm.edmScalings(s);
      for (let i = 0; i < 4; i++) expect(out[b * 4 + i]).toBeCloseTo((cSkip + 2 * cOut * cIn) * xv[b * 4 + i]!, 12);
      expect(seen[b]).toBeCloseTo(250 * Math.log(s), 10);
    });
  });
});

describe('consistency distillation loss', () => {
  // Data concentrated at c: the exact denoiser is D = c, whose ODE trajectories are straight lines
  // x(sigma) = c + (sigma / sigma') (x' - c); f(x, sigma) = c + (x - c) eps / sigma maps every point of a
  // trajectory to the same x(eps), so it is the exact consistency function of that teacher.
  const c = 0.3;
  const exact: cm.ConsistencyFunction = (x, sigma) => x.sub(c).mul(sigma.reciprocal().mul(cm.SIGMA_MIN).reshape([-1, 1, 1, 1])).add(c);
  const x = full([4, 1, 8, 8], c);

  for (const d of ['l2', 'l1', 'pseudo-huber'] as const) {
    it(`is zero (${d}) when the student and its target coincide along the teacher's ODE`, () => {
      const ctx = { teacher: constant(c), student: exact, target: exact, generator: new Generator(2), intervals: 18, distance: d };
      expect(cm.cdLoss(ctx, x).loss.item()).toBeLessThan(1e-6);
      // a student that is not consistent (the identity) has a positive loss
      const wrong = { ...ctx, student: (y: Tensor) => y, generator: new Generator(2) };
      expect(cm.cdLoss(wrong, x).loss.item()).toBeGreaterThan(1e-3);
    });
  }

  it('the EDM loss is zero for the exact denoiser of data at one point', () => {
    expect(cm.edmLoss(constant(c), x, new Generator(3)).loss.item()).toBe(0);
  });
});
