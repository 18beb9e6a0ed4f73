// The two weight-gradient paths of a 3x3 stride-1 convolution side by side, on the shapes that
// decide winogradGradWeightApplies (kernels/cpu/wasm/winograd-grad.ts): im2col + GEMM against
// Winograd F(3x3, 2x2), operands resident in the wasm heap as the cpu backend's tensors are.
// Three rounds alternating the two, each the median of 15 calls after 3 warm-up ones.
//   npx tsx bench/conv-wgrad-paths.ts
import { conv2dGradWeightIm2colF32 } from '../kernels/cpu/wasm/conv';
import { conv2dGradWeightWinogradF32, winogradGradWeightApplies } from '../kernels/cpu/wasm/winograd-grad';
import type { Conv2dGeometry } from '../src/backend/backend';
import { medianMs, residentRandom } from './path-timing';

for (const [channels, side, n] of [[64, 32, 32], [64, 8, 32], [128, 8, 32], [64, 8, 8], [64, 8, 2]] as const) {
  const g: Conv2dGeometry = { n, cIn: channels, h: side, w: side, cOut: channels, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: side, outW: side };
  const x = residentRandom(n * channels * side * side), gy = residentRandom(n * channels * side * side), gw = residentRandom(channels * channels * 9);
  const rounds = Array.from({ length: 3 }, () => [
    medianMs(() => conv2dGradWeightIm2colF32(x, gy, gw, g)), medianMs(() => conv2dGradWeightWinogradF32(x, gy, gw, g)),
  ]);
  const show = (k: number) => rounds.map((r) => r[k]!.toFixed(2)).join(' / ');
  console.log(`${channels} -> ${channels}, ${side}x${side}, batch ${n}: im2col ${show(0)} ms, Winograd ${show(1)} ms (dispatch: ${winogradGradWeightApplies(g) ? 'Winograd' : 'im2col'})`);
}
