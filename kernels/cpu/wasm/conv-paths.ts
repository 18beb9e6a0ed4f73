import type { Conv2dGeometry } from '../../../src/backend/backend';
import { conv2dGradInputAsForward, conv2dGradWeightIm2colF32, conv2dIm2colF32, gradInputAsConv } from './conv';
import { conv2dDirectF32, conv2dGradWeightDirectF32, directConvApplies, directConvGeometry, directConvGradWeightApplies } from './direct-conv';
import { conv2dWinogradF32, winogradApplies, winogradGeometry, winogradTermsApply, type ConvTerms } from './winograd';
import { conv2dGradWeightWinogradF32, winogradGradWeightApplies } from './winograd-grad';

/**
 * One float32 wasm algorithm for a convolution and the geometries it takes. Operands in the order
 * of the Backend method: forward (x, w, out), weight gradient (x, dy, gw), input gradient (dy, w, gx).
 */
export interface ConvPath {
  readonly name: string;
  /** The geometries the kernel computes (the parity tests draw from them, the bench times them). */
  supports(g: Conv2dGeometry): boolean;
  /** Where it is chosen when no earlier path is: the geometries it computes faster than the later paths. */
  applies(g: Conv2dGeometry): boolean;
  run(a: Float32Array, b: Float32Array, out: Float32Array, g: Conv2dGeometry): void;
  /** The bias and epilogue computed in the same pass (forward only), where `applies` says it can. */
  readonly fused?: {
    applies(g: Conv2dGeometry): boolean;
    run(x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry, terms: ConvTerms): void;
  };
}

// Each list is ordered: the first path that applies runs (the cpu backend, for float32 operands of
// at least FAST_MIN_MACS multiply-adds; the reference loop otherwise). The parity tests
// (test/parity/conv.test.ts) check every path against the reference on the geometries it takes,
// and `npx tsx bench/conv-paths.ts` times every path that applies to a shape beside the choice.

/** The forward convolution: direct for few output channels, Winograd F(2x2, 3x3) where it applies, else im2col + GEMM. */
export const CONV2D_PATHS: readonly ConvPath[] = [
  { name: 'direct', supports: directConvGeometry, applies: directConvApplies, run: conv2dDirectF32 },
  {
    name: 'winograd', supports: winogradApplies, applies: winogradApplies, run: conv2dWinogradF32,
    fused: { applies: winogradTermsApply, run: conv2dWinogradF32 },
  },
  { name: 'im2col', supports: () => true, applies: () => true, run: conv2dIm2colF32 },
];

/** The weight gradient: direct for few channels, Winograd F(3x3, 2x2) where it pays, else im2col + GEMM. */
export const CONV2D_GRAD_WEIGHT_PATHS: readonly ConvPath[] = [
  { name: 'direct', supports: directConvGeometry, applies: directConvGradWeightApplies, run: conv2dGradWeightDirectF32 },
  { name: 'winograd', supports: winogradGeometry, applies: winogradGradWeightApplies, run: conv2dGradWeightWinogradF32 },
  { name: 'im2col', supports: () => true, applies: () => true, run: conv2dGradWeightIm2colF32 },
];

/** The first path of `paths` that computes g; undefined when none does (the reference loop's case). */
export function convPathFor(paths: readonly ConvPath[], g: Conv2dGeometry): ConvPath | undefined {
  return paths.find((path) => path.applies(g));
}

/** The forward convolution by the first forward path that applies (one always does). */
function conv2dF32(x: Float32Array, w: Float32Array, out: Float32Array, g: Conv2dGeometry): void {
  convPathFor(CONV2D_PATHS, g)!.run(x, w, out, g);
}

/** The input gradient: a forward convolution of dy (CONV2D_PATHS) where the padding is below the kernel size. */
export const CONV2D_GRAD_INPUT_PATHS: readonly ConvPath[] = [
  { name: 'as-forward', supports: gradInputAsConv, applies: gradInputAsConv, run: (gy, w, gx, g) => conv2dGradInputAsForward(gy, w, gx, g, conv2dF32) },
];

const imageSize = (g: Conv2dGeometry) => g.n * g.cIn * g.h * g.w;
const weightSize = (g: Conv2dGeometry) => g.cOut * g.cIn * g.kh * g.kw;
const outputSize = (g: Conv2dGeometry) => g.n * g.cOut * g.outH * g.outW;

/**
 * The Backend's convolution methods, each with its paths and its three operands' sizes in the
 * method's order (what the parity tests and the bench draw): forward (x, w, out), weight gradient
 * (x, dy, gw), input gradient (dy, w, gx).
 */
export const CONV_METHODS = {
  conv2d: { paths: CONV2D_PATHS, sizes: (g: Conv2dGeometry) => [imageSize(g), weightSize(g), outputSize(g)] },
  conv2dGradWeight: { paths: CONV2D_GRAD_WEIGHT_PATHS, sizes: (g: Conv2dGeometry) => [imageSize(g), outputSize(g), weightSize(g)] },
  conv2dGradInput: { paths: CONV2D_GRAD_INPUT_PATHS, sizes: (g: Conv2dGeometry) => [outputSize(g), weightSize(g), imageSize(g)] },
} as const satisfies Record<string, { paths: readonly ConvPath[]; sizes: (g: Conv2dGeometry) => [number, number, number] }>;
