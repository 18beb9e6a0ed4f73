import { describe, expect, it } from 'vitest';
import { AdamW, Generator, noGrad, randn, SimpleUNet, tensor } from '../src/index';
import { pseudoHuber, pseudoHuberConstant } from '../src/cm/losses';
import { officialConsistency, simpleUNetConsistency } from '../src/cm/parametrization';
import { sample } from '../src/cm/sample';
import {
  communitySchedule, drawIndex, ectStage, ectTargetLevel, erf, ictDiscretization, karrasSigmas, lognormalIndexProbabilities, SIGMA_MAX, SIGMA_MIN,
} from '../src/cm/schedule';
import { ctLoss, ctStep } from '../src/cm/train';
import { ectLevels, ictLevels } from '../src/cm/recipes/index';

describe('noise schedules (docs/contracts.md, Consistency models)', () => {
  it('the Karras grid runs from eps to T, increasing, rho = 7 spacing', () => {
    const s = karrasSigmas(18);
    expect(s[0]).toBeCloseTo(SIGMA_MIN, 12);
    expect(s[17]).toBeCloseTo(SIGMA_MAX, 9);
    for (let i = 1; i < 18; i++) expect(s[i]!).toBeGreaterThan(s[i - 1]!);
    const mid = (SIGMA_MIN ** (1 / 7) + 0.5 * (SIGMA_MAX ** (1 / 7) - SIGMA_MIN ** (1 / 7))) ** 7;
    expect(karrasSigmas(3)[1]).toBeCloseTo(mid, 12);
  });
  it("improved CT's curriculum doubles from 11 to 1281 levels", () => {
    const K = 7000; // K' = floor(7000 / (log2 128 + 1)) = 875
    expect(ictDiscretization(0, K)).toBe(11);
    expect(ictDiscretization(874, K)).toBe(11);
    expect(ictDiscretization(875, K)).toBe(21);
    expect(ictDiscretization(6999, K)).toBe(1281);
  });
  it("the community recipe's schedule starts at N = 2 and mu = 0.95^(2/N)", () => {
    expect(communitySchedule(0, 100)).toEqual({ n: 2, mu: Math.exp((2 * Math.log(0.95)) / 2) });
    expect(communitySchedule(100, 100).n).toBe(150);
  });
  it("ECT's target level: denoising in stage 0, then the gap t - r halves per stage where n(t) ~ 1", () => {
    for (const t of [0.002, 0.01, 0.3, 1, 5, 80]) {
      expect(ectTargetLevel(t, 0)).toBe(0.002);
      for (let a = 0; a < 12; a++) {
        const r = ectTargetLevel(t, a);
        expect(r).toBeGreaterThanOrEqual(0.002);
        expect(r).toBeLessThanOrEqual(Math.max(t, 0.002));
        if (a > 0) expect(r).toBeGreaterThanOrEqual(ectTargetLevel(t, a - 1));
      }
    }
    // at t = 80, n(t) = 1 + 8 sigmoid(-80) = 1: r = t (1 - 2^-a) exactly
    for (let a = 1; a < 8; a++) expect(80 - ectTargetLevel(80, a)).toBeCloseTo(80 / 2 ** a, 10);
    // at t = 1, n = 1 + 8 / (1 + e): the gap is t n / 2^a until r reaches sigma_min
    const n1 = 1 + 8 / (1 + Math.E);
    expect(1 - ectTargetLevel(1, 4)).toBeCloseTo(n1 / 16, 12);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => ectStage(s, 10, 3))).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(ectStage(25, 10, 3)).toBe(2);
  });

  it('erf matches reference values and the index distribution is a distribution', () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778, 6);
    expect(erf(-1)).toBeCloseTo(-0.8427007929, 6);
    expect(erf(0)).toBeCloseTo(0, 8);
    const p = lognormalIndexProbabilities(karrasSigmas(11));
    expect(p.length).toBe(10);
    expect(p.every((v) => v > 0)).toBe(true);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const cumulative = [0.1, 0.5, 1];
    expect([0, 0.099, 0.1, 0.7, 0.9999].map((u) => drawIndex(cumulative, u))).toEqual([0, 0, 1, 2, 2]);
  });
});

describe('parametrization and loss', () => {
  it('the official parametrization is the identity at sigma = eps (c_skip = 1, c_out = 0)', () => {
    const body = () => randn([2, 1, 4, 4]).mul(100);
    const f = officialConsistency(body, 250);
    const x = randn([2, 1, 4, 4], { generator: new Generator(1) });
    expect(Array.from(f(x, tensor([SIGMA_MIN, SIGMA_MIN])).toArray())).toEqual(Array.from(x.toArray()));
  });
  it('pseudo-Huber is sqrt(||a-b||^2 + c^2) - c per sample', () => {
    const a = tensor([[[[3, 0]]], [[[1, 1]]]]), b = tensor([[[[0, 4]]], [[[1, 1]]]]);
    const d = pseudoHuber(a, b, 1).toArray();
    expect(d[0]).toBeCloseTo(Math.sqrt(25 + 1) - 1, 5);
    expect(d[1]).toBe(0);
    expect(pseudoHuberConstant(1, 32, 32)).toBeCloseTo(0.00054 * 32, 12);
  });
});

describe('training and sampling', () => {
  // The per-step loss is noisy (random levels, weights 1/(t - r)): each test judges the same loss
  // on 16 fixed draws of levels and noise, before and after 200 steps on 8 fixed 8x8 "images"
  // (bright squares at different places). ECT runs long enough that all 200 steps are stage 0:
  // denoising, the phase that teaches the network the data (the later stages' gaps are tested
  // above; the MNIST runs show them working).
  for (const [levels, title] of [
    [ictLevels, 'a few hundred improved-CT steps on a tiny problem lower the loss'],
    [ectLevels, '200 steps of ECT stage 0 (denoising) on a tiny problem lower its loss'],
  ] as const) {
    it(title, () => {
      const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(0) });
      const f = simpleUNetConsistency(model, 'official', 250);
      const optimizer = new AdamW(model.parameters(), { lr: 2e-3, weightDecay: 0 });
      const generator = new Generator(1);
      const data = new Float32Array(8 * 64).fill(-1);
      for (let k = 0; k < 8; k++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) data[k * 64 + (y + (k % 4)) * 8 + x + (k >> 2) * 4] = 1;
      const x = tensor(data, { shape: [8, 1, 8, 8] });
      const ctx = { levels: levels(1e9), student: f, model };
      const heldOut = () => {
        let total = 0;
        for (let k = 0; k < 16; k++) total += noGrad(() => ctLoss({ ...ctx, generator: new Generator(100 + k) }, x, 0).loss.item());
        return total / 16;
      };
      const before = heldOut();
      for (let step = 0; step < 200; step++) ctStep({ ...ctx, optimizer, generator }, x, step);
      expect(heldOut()).toBeLessThan(0.7 * before);
    });
  }

  it('sampling is bit-identical for a seed and differs across seeds', () => {
    const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(2) });
    const f = simpleUNetConsistency(model, 'official', 250);
    const draw = (seed: number, sigmas?: number[]) => Array.from(sample(f, { count: 3, shape: [1, 8, 8], generator: new Generator(seed), sigmas }).toArray());
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5, [80, 2])).toEqual(draw(5, [80, 2]));
    expect(draw(5)).not.toEqual(draw(6));
    const values = draw(5, [80, 2]);
    expect(values.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(() => draw(5, [2, 80])).toThrow(/sigmas \(the noise levels\) must decrease/);
  });
});
