import fc from 'fast-check';
import type { GpujsBackend } from '../../../kernels/gpujs/backend';
import type { GroupNormGeometry } from '../../../src/backend/backend';
import { caseList, expectClose, onGpujs, ref, random, relative, type ParityCase } from './helpers';

// The group norm kernels (kernels/gpujs/norm.ts), forward and backward, with and without SiLU.

export function normCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut } = onGpujs(backend);

  for (const silu of [false, true]) {
    it(`group norm forward and backward${silu ? ', fused with SiLU' : ''}`, () => {
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 4 }), cpg: fc.integer({ min: 1, max: 4 }),
            hw: fc.integer({ min: 1, max: 70 }), seed: fc.integer({ min: 0, max: 1e6 }),
          }),
          (p) => {
            const c = p.groups * p.cpg;
            const g: GroupNormGeometry = { n: p.n, c, hw: p.hw, groups: p.groups, eps: 1e-5, silu };
            const nx = p.n * c * p.hw, ns = p.n * p.groups;
            const x = random(nx, p.seed, -2, 3), gamma = random(c, p.seed + 1), beta = random(c, p.seed + 2), gy = random(nx, p.seed + 3);
            const out = gpuOut(nx), stats = gpuOut(2 * ns);
            const rOut = refOut(nx), rStats = refOut(2 * ns);
            b.groupNorm(up(x), up(gamma), up(beta), out, stats, g);
            ref.groupNorm(x, gamma, beta, rOut, rStats, g);
            // normalised values are O(1); statistics are sums of count terms
            const count = p.cpg * p.hw;
            const st = down(stats);
            expectClose('group norm mean', st.subarray(0, ns), rStats.subarray(0, ns), () => 4e-6 * 3 + 1e-7);
            expectClose('group norm rstd', st.subarray(ns), rStats.subarray(ns), relative(rStats.subarray(ns), 4e-6 * Math.sqrt(count) + 1e-6));
            expectClose('group norm out', down(out), rOut, (i) => 2e-5 * (Math.abs(rOut[i]!) + 1));
            const gx = gpuOut(nx), gGamma = gpuOut(c), gBeta = gpuOut(c);
            const rGx = refOut(nx), rGGamma = refOut(c), rGBeta = refOut(c);
            b.groupNormBackward(up(gy), up(x), up(gamma), up(beta), up(rStats), gx, gGamma, gBeta, g);
            ref.groupNormBackward(gy, x, gamma, beta, rStats, rGx, rGGamma, rGBeta, g);
            const perChannel = p.n * p.hw;
            const rstdMax = Math.max(...rStats.subarray(ns));
            expectClose('group norm grad beta', down(gBeta), rGBeta, () => 4e-6 * perChannel + 1e-6);
            expectClose('group norm grad gamma', down(gGamma), rGGamma, () => 4e-6 * 3 * perChannel + 1e-6);
            expectClose('group norm grad input', down(gx), rGx, (i) => 2e-5 * (Math.abs(rGx[i]!) + rstdMax));
          },
        ),
        { numRuns: 15 },
      );
    });
  }
  return cases;
}
