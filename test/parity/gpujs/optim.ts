import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import { caseList, expectClose, onGpujs, ref, random, relative, type ParityCase } from './helpers';

// The optimizer kernels (kernels/gpujs/optim.ts): AdamW and axpby.

export function optimCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut } = onGpujs(backend);

  it('AdamW (packed outputs, read back as views) and axpby', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 700 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 1e-5, max: 1e-1, noNaN: true }), fc.constantFrom(0, 0.01), fc.constantFrom(1, 0.37),
        (n, seed, step, lr, weightDecay, gradScale) => {
          const p = random(n, seed), g = random(n, seed + 1), m = random(n, seed + 2, -0.1, 0.1), v = random(n, seed + 3, 0, 0.01);
          const h = {
            lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, gradScale, biasCorrection1: 1 - 0.9 ** step, biasCorrection2: 1 - 0.999 ** step,
          };
          // Tolerances from the magnitudes of each formula's terms (m' may cancel), a few float32 ulps each.
          const tolerances = (p: Float32Array, m: Float32Array, v: Float32Array, m1: Float32Array, v1: Float32Array) => {
            const stepSize = lr / h.biasCorrection1;
            const tolM = (i: number) => 3e-7 * (Math.abs(m[i]!) * 0.9 + Math.abs(g[i]! * gradScale) * 0.1) + 1e-12;
            const tolV = (i: number) => 3e-7 * (v[i]! * 0.999 + (g[i]! * gradScale) ** 2 * 0.001) + 1e-15;
            const tolP = (i: number) => {
              const denom = Math.sqrt(v1[i]! / h.biasCorrection2) + h.eps;
              return 3e-7 * Math.abs(p[i]!) + 4e-6 * Math.abs((stepSize * m1[i]!) / denom) + (stepSize * (tolM(i) + 4e-6 * Math.abs(m1[i]!))) / denom;
            };
            return [tolP, tolM, tolV];
          };
          const here = b.adamw(up(p), up(g), up(m), up(v), h).map(down);
          const there = ref.adamw(p, g, m, v, h) as Float32Array[];
          const tol = tolerances(p, m, v, there[1]!, there[2]!);
          ['parameter', 'first moment', 'second moment'].forEach((what, k) => expectClose(`adamw ${what} (n ${n})`, here[k]!, there[k]!, tol[k]!));
          // a second step from the packed state (views as inputs), against the reference from the same state
          const [p1, m1, v1] = b.adamw(up(p), up(g), up(m), up(v), h);
          const state = [p1, m1, v1].map(down) as [Float32Array, Float32Array, Float32Array];
          const again = b.adamw(p1, up(g), m1, v1, h).map(down);
          const refAgain = ref.adamw(state[0], g, state[1], state[2], h) as Float32Array[];
          const tol2 = tolerances(state[0], state[1], state[2], refAgain[1]!, refAgain[2]!);
          ['parameter', 'first moment', 'second moment'].forEach((what, k) => expectClose(`adamw from views: ${what}`, again[k]!, refAgain[k]!, tol2[k]!));
          const out = gpuOut(n), expected = refOut(n);
          b.axpby(up(p), up(g), 0.999, 0.001, out);
          ref.axpby(p, g, 0.999, 0.001, expected);
          expectClose('axpby', down(out), expected, relative(expected, 4e-7, 1e-8));
        },
      ),
      { numRuns: 12 },
    );
  });
  return cases;
}
