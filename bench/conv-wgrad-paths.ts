// The two weight-gradient paths of a 3x3 stride-1 convolution side by side, on the shapes that
// decide winogradGradWeightApplies (kernels/cpu/wasm/winograd-grad.ts): im2col + GEMM against
// Winograd F(3x3, 2x2), operands resident in the wasm heap as the cpu backend's tensors are.
// Three rounds alternating the two, each the median of 15 calls after 3 warm-up ones.
//   npx tsx bench/conv-wgrad-paths.ts
import { conv2dGradWeightIm2colF32 } from '../kernels/cpu/wasm/conv';
import { getRuntime } from '../kernels/cpu/wasm/runtime';
import { conv2dGradWeightWinogradF32, winogradGradWeightApplies } from '../kernels/cpu/wasm/winograd-grad';
import type { Conv2dGeometry } from '../src/backend/backend';
import { Generator } from '../src/index';

const generator = new Generator(1);
const resident = (n: number): Float32Array => {
  const a = getRuntime().heap.tensor(n) ?? new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = generator.uniform() - 0.5;
  return a;
};
const medianMs = (f: () => void): number => {
  for (let i = 0; i < 3; i++) f();
  const times = Array.from({ length: 15 }, () => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  }).sort((a, b) => a - b);
  return times[7]!;
};

for (const [channels, side, n] of [[64, 32, 32], [64, 8, 32], [128, 8, 32], [64, 8, 8], [64, 8, 2]] as const) {
  const g: Conv2dGeometry = { n, cIn: channels, h: side, w: side, cOut: channels, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: side, outW: side };
  const x = resident(n * channels * side * side), gy = resident(n * channels * side * side), gw = resident(channels * channels * 9);
  const rounds = Array.from({ length: 3 }, () => [
    medianMs(() => conv2dGradWeightIm2colF32(x, gy, gw, g)), medianMs(() => conv2dGradWeightWinogradF32(x, gy, gw, g)),
  ]);
  const show = (k: number) => rounds.map((r) => r[k]!.toFixed(2)).join(' / ');
  console.log(`${channels} -> ${channels}, ${side}x${side}, batch ${n}: im2col ${show(0)} ms, Winograd ${show(1)} ms (dispatch: ${winogradGradWeightApplies(g) ? 'Winograd' : 'im2col'})`);
}
