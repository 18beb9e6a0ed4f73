// The direct 3x3 kernels for few channels (kernels/cpu/wasm/direct-conv.ts) against the paths the
// same convolutions take otherwise, on the convolutions with few channels of the two models at
// batch 32: the SimpleUNet's last 65 -> 1 at 32x32 (forward, weight gradient, and the input
// gradient, which is a forward 1 -> 65 convolution; its first convolution has stride 2), and the
// UNet's first 3 -> 32 and last 32 -> 3 at 64x64 (`npm run imagenet9`'s defaults).
// Operands resident in the wasm heap as the cpu backend's tensors are; three rounds alternating
// the paths, each the median of 15 calls after 3 warm-up ones.
//   npx tsx bench/conv-direct-paths.ts
import { conv2dGradWeightIm2colF32, conv2dIm2colF32 } from '../kernels/cpu/wasm/conv';
import { conv2dDirectF32, conv2dGradWeightDirectF32, directConvApplies, directConvGradWeightApplies } from '../kernels/cpu/wasm/direct-conv';
import { conv2dWinogradF32, winogradApplies } from '../kernels/cpu/wasm/winograd';
import { conv2dGradWeightWinogradF32, winogradGradWeightApplies } from '../kernels/cpu/wasm/winograd-grad';
import type { Conv2dGeometry } from '../src/backend/backend';
import { medianMs, residentRandom } from './path-timing';

type Conv = (x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry) => void;
const conv3x3 = (n: number, cIn: number, cOut: number, side: number): Conv2dGeometry =>
  ({ n, cIn, cOut, h: side, w: side, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: side, outW: side });

for (const [what, g, kind] of [
  ['SimpleUNet last conv forward', conv3x3(32, 65, 1, 32), 'forward'],
  ['SimpleUNet last conv input gradient (forward 1 -> 65)', conv3x3(32, 1, 65, 32), 'forward'],
  ['SimpleUNet last conv weight gradient', conv3x3(32, 65, 1, 32), 'weight'],
  ['UNet first conv forward', conv3x3(32, 3, 32, 64), 'forward'],
  ['UNet first conv weight gradient', conv3x3(32, 3, 32, 64), 'weight'],
  ['UNet last conv forward', conv3x3(32, 32, 3, 64), 'forward'],
  ['UNet last conv weight gradient', conv3x3(32, 32, 3, 64), 'weight'],
] as const) {
  const dispatch = (kind === 'forward' ? directConvApplies : directConvGradWeightApplies)(g) ? 'direct' : 'the other path';
  const x = residentRandom(g.n * g.cIn * g.h * g.w), w = residentRandom(g.cOut * g.cIn * 9), y = residentRandom(g.n * g.cOut * g.h * g.w);
  const [beforeName, before]: [string, Conv] = kind === 'forward'
    ? (winogradApplies(g) ? ['Winograd', conv2dWinogradF32] : ['im2col', conv2dIm2colF32])
    : (winogradGradWeightApplies(g) ? ['Winograd', (a, dy, gw, geometry) => conv2dGradWeightWinogradF32(a, dy, gw, geometry)] : ['im2col', conv2dGradWeightIm2colF32]);
  const direct: Conv = kind === 'forward' ? conv2dDirectF32 : conv2dGradWeightDirectF32;
  // forward: (x, w, out); weight gradient: (x, dy, gw)
  const args: [Float32Array, Float32Array, Float32Array] = kind === 'forward' ? [x, w, y] : [x, y, w];
  const rounds = Array.from({ length: 3 }, () => [medianMs(() => before(...args, g)), medianMs(() => direct(...args, g))]);
  const show = (k: number) => rounds.map((r) => r[k]!.toFixed(2)).join(' / ');
  console.log(`${what} ${g.cIn} -> ${g.cOut}, ${g.h}x${g.w}, batch ${g.n}: ${beforeName} ${show(0)} ms, direct ${show(1)} ms (dispatch: ${dispatch})`);
}
