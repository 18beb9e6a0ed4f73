import { ceilTo, laneRanges } from './ranges';
import { getRuntime } from './runtime';

export function siluF32(x: Float32Array, out: Float32Array): void {
  const rt = getRuntime();
  const n = x.length;
  rt.frame((f) => {
    const src = f.input(x), dst = f.output(out, 0, n, ceilTo(n, 4));
    rt.parallel('silu', laneRanges(n, rt.threads).map(([begin, end]) => ({ src: src * 4, dst: dst * 4, begin, end })));
  });
}

export function siluGradF32(x: Float32Array, grad: Float32Array, out: Float32Array): void {
  const rt = getRuntime();
  const n = x.length;
  rt.frame((f) => {
    const src = f.input(x), g = f.input(grad), dst = f.output(out, 0, n, ceilTo(n, 4));
    rt.parallel('siluGrad', laneRanges(n, rt.threads).map(([begin, end]) => ({ src: src * 4, grad: g * 4, dst: dst * 4, begin, end })));
  });
}
