// Every convolution path (kernels/cpu/wasm/conv-paths.ts) that computes a shape, timed side by
// side with the one the cpu backend chooses: the shapes that set the `applies` rules, i.e. the
// models' convolutions with few channels at batch 32 (the SimpleUNet's last 65 -> 1 at 32x32 and
// its input gradient, a forward 1 -> 65; the UNet's first 3 -> 32 and last 32 -> 3 at 64x64,
// `npm run imagenet9`'s defaults) and the wide 3x3 ones where Winograd's weight gradient starts to
// pay (64 and 128 channels at 32x32 and 8x8, batches 32, 8 and 2). Operands resident in the wasm
// heap as the cpu backend's tensors are; three rounds alternating the paths, each the median of
// 15 calls after 3 warm-up ones.
//   npx tsx bench/conv-paths.ts [--only forward|weight|input]
import { parseArgs } from 'node:util';
import { CONV_METHODS, convPathFor } from '../kernels/cpu/wasm/conv-paths';
import type { Conv2dGeometry } from '../src/backend/backend';
import { medianMs, residentRandom } from './path-timing';

const { values: args } = parseArgs({ options: { only: { type: 'string' } } });

const conv3x3 = (n: number, cIn: number, cOut: number, side: number): Conv2dGeometry =>
  ({ n, cIn, cOut, h: side, w: side, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: side, outW: side });

const SHAPES: [string, Conv2dGeometry][] = [
  ['SimpleUNet last conv', conv3x3(32, 65, 1, 32)],
  ['SimpleUNet last conv\'s input gradient as a forward', conv3x3(32, 1, 65, 32)],
  ['UNet first conv', conv3x3(32, 3, 32, 64)],
  ['UNet last conv', conv3x3(32, 32, 3, 64)],
  ['wide', conv3x3(32, 64, 64, 32)],
  ['wide', conv3x3(32, 64, 64, 8)],
  ['wide', conv3x3(32, 128, 128, 8)],
  ['wide', conv3x3(8, 64, 64, 8)],
  ['wide', conv3x3(2, 64, 64, 8)],
];

const OPS = [['forward', CONV_METHODS.conv2d], ['weight', CONV_METHODS.conv2dGradWeight], ['input', CONV_METHODS.conv2dGradInput]] as const;

for (const [what, g] of SHAPES) {
  for (const [op, { paths, sizes }] of OPS) {
    if (args.only && op !== args.only) continue;
    const candidates = paths.filter((p) => p.supports(g));
    if (candidates.length < 2) continue; // nothing to compare
    const [a, b, out] = sizes(g).map(residentRandom) as [Float32Array, Float32Array, Float32Array];
    const rounds = Array.from({ length: 3 }, () => candidates.map((p) => medianMs(() => p.run(a, b, out, g))));
    const times = candidates.map((p, k) => `${p.name} ${rounds.map((r) => r[k]!.toFixed(2)).join(' / ')} ms`).join(', ');
    console.log(`${what} ${g.cIn} -> ${g.cOut}, ${g.h}x${g.w}, batch ${g.n}, ${op}: ${times} (chosen: ${convPathFor(paths, g)!.name})`);
  }
}
