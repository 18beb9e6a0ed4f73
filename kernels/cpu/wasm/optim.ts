import type { AdamWHyper } from '../../../src/backend/backend';
import { adamwScalars } from '../../../src/backend/adamw-scalars';
import { ceilTo, f32Bits, laneRanges } from './ranges';
import { getRuntime } from './runtime';

/** AdamW (optim-module.ts) on all threads: p', m', v' into outP, outM, outV; the same bits as kernels/cpu/optim.ts. */
export function adamwF32(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, outP: Float32Array, outM: Float32Array, outV: Float32Array, h: AdamWHyper,
): void {
  const rt = getRuntime();
  const n = p.length, room = ceilTo(n, 4);
  const scalars = Object.fromEntries(Object.entries(adamwScalars(h)).map(([name, x]) => [name, f32Bits(x)])) as Record<keyof ReturnType<typeof adamwScalars>, number>;
  rt.frame((f) => {
    const [pAt, gAt, mAt, vAt] = [p, g, m, v].map((x) => f.input(x, 0, n) * 4) as [number, number, number, number];
    const [outPAt, outMAt, outVAt] = [outP, outM, outV].map((x) => f.output(x, 0, n, room) * 4) as [number, number, number];
    rt.parallel('adamw', laneRanges(n, rt.threads).map(([begin, end]) => ({
      p: pAt, g: gAt, m: mAt, v: vAt, outP: outPAt, outM: outMAt, outV: outVAt, begin, end, ...scalars,
    })));
  });
}

/** out = x alpha + y beta (the EMA update; optim-module.ts) on all threads: the same bits as kernels/cpu/optim.ts. */
export function axpbyF32(x: Float32Array, y: Float32Array, alpha: number, beta: number, out: Float32Array): void {
  const rt = getRuntime();
  const n = out.length, room = ceilTo(n, 4);
  rt.frame((f) => {
    const xAt = f.input(x, 0, n) * 4, yAt = f.input(y, 0, n) * 4, outAt = f.output(out, 0, n, room) * 4;
    rt.parallel('axpby', laneRanges(n, rt.threads).map(([begin, end]) => ({
      x: xAt, y: yAt, out: outAt, begin, end, alpha: f32Bits(alpha), beta: f32Bits(beta),
    })));
  });
}
