import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adamwInto, axpby } from '../../kernels/cpu/optim';
import { adamwF32, axpbyF32 } from '../../kernels/cpu/wasm/optim';
import { place, random } from '../helpers/wasm-parity';

// The WebAssembly AdamW and EMA update (kernels/cpu/wasm/optim.ts) against the JavaScript loops (kernels/cpu/optim.ts).

describe('WebAssembly AdamW and the EMA update match the JavaScript loops bit for bit', () => {
  // The same float32 operations in the same order (kernels/cpu/optim.ts): equal results, tails included.
  it('over sizes, hyper-parameters (clipping scale, weight decay, bias corrections), in place or not', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3000 }), lr: fc.double({ min: 1e-5, max: 1e-2, noNaN: true }), weightDecay: fc.constantFrom(0, 0.01, 0.1),
          gradScale: fc.double({ min: 0.1, max: 1, noNaN: true }), step: fc.integer({ min: 1, max: 1000 }), inPlace: fc.boolean(),
          resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (q) => {
          const h = { lr: q.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: q.weightDecay, gradScale: q.gradScale, biasCorrection1: 1 - 0.9 ** q.step, biasCorrection2: 1 - 0.999 ** q.step };
          const p = random(q.n, q.seed), g = random(q.n, q.seed + 1), m = random(q.n, q.seed + 2).map((x) => x * 0.1), v = random(q.n, q.seed + 3).map((x) => x * x * 0.01);
          const expected = [new Float32Array(q.n), new Float32Array(q.n), new Float32Array(q.n)] as const;
          adamwInto(p, g, m, v, ...expected, h);
          const [pw, gw, mw, vw] = [p, g, m, v].map((x) => place(x.slice(), q.resident)) as [Float32Array, Float32Array, Float32Array, Float32Array];
          const outs = q.inPlace ? [pw, mw, vw] as const : [0, 1, 2].map(() => place(new Float32Array(q.n).fill(Number.NaN), q.resident)) as [Float32Array, Float32Array, Float32Array];
          adamwF32(pw, gw, mw, vw, ...outs, h);
          outs.forEach((out, k) => expect(Array.from(out)).toEqual(Array.from(expected[k])));
          // the EMA update that follows it: e' = e mu + p (1 - mu)
          const mu = 1 - q.lr * 10, ema = place(m.slice(), q.resident), emaOut = q.inPlace ? ema : place(new Float32Array(q.n).fill(Number.NaN), q.resident);
          const emaExpected = new Float32Array(q.n);
          axpby(m, outs[0].slice(), mu, 1 - mu, emaExpected);
          axpbyF32(ema, outs[0], mu, 1 - mu, emaOut);
          expect(Array.from(emaOut)).toEqual(Array.from(emaExpected));
        },
      ),
      { numRuns: 60 },
    );
  });
});
