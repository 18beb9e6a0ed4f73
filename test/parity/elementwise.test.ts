import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binary, unary, unaryGrad } from '../../kernels/cpu/elementwise';
import { siluF32, siluGradF32 } from '../../kernels/cpu/wasm/activation';
import { binaryF32 } from '../../kernels/cpu/wasm/binary';
import { contiguousStrides } from '../../src/backend/strides';
import { broadcastStrides } from '../../src/tensor/shape';
import { place, random } from '../helpers/wasm-parity';

// The WebAssembly add/sub/mul/div (kernels/cpu/wasm/binary.ts) and SiLU (activation.ts) against the reference loops (kernels/cpu/elementwise.ts).

describe('WebAssembly add/sub/mul/div match the reference', () => {
  // Each output is one float32 operation on the same operands: results must be bit-identical.
  it('on contiguous and row-broadcast operands, either side, and leave other layouts to the reference', () => {
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
          keepA: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), keepB: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
          op: fc.constantFrom('add' as const, 'sub' as const, 'mul' as const, 'div' as const), offset: fc.integer({ min: 0, max: 3 }),
          resident: fc.boolean(), seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          // operands of the output's shape with some dimensions broadcast (size 1), stored after `offset` spare values
          const operand = (keep: boolean[], seed: number) => {
            const own = p.shape.map((n, d) => (keep[d] ? n : 1));
            const buffer = place(random(p.offset + own.reduce((x, y) => x * y, 1), seed), p.resident);
            return { buffer, offset: p.offset, strides: broadcastStrides(own, p.shape) };
          };
          const a = operand(p.keepA, p.seed), b = operand(p.keepB, p.seed + 1);
          const size = p.shape.reduce((x, y) => x * y, 1);
          const [fast, ref] = [place(new Float32Array(size).fill(Number.NaN), p.resident), new Float32Array(size)];
          binary(p.op, a, b, p.shape, ref);
          if (binaryF32(p.op, a, b, p.shape, fast)) expect(fast).toEqual(ref);
          else expect(fast.every(Number.isNaN)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('takes the U-Net layouts: residual, bias, time embedding, per-image scale, scalar', () => {
    const shape = [4, 6, 5, 8], size = 4 * 6 * 5 * 8;
    const view = (own: number[], seed: number) => ({ buffer: random(own.reduce((x, y) => x * y, 1), seed), offset: 0, strides: broadcastStrides(own, shape) });
    const cases: [ReturnType<typeof view>, ReturnType<typeof view>][] = [
      [view(shape, 1), view(shape, 2)],
      [view(shape, 1), view([1, 6, 1, 1], 3)],
      [view(shape, 1), view([4, 6, 1, 1], 4)],
      [view([4, 1, 1, 1], 5), view(shape, 1)],
      [view(shape, 1), view([1], 6)],
    ];
    for (const [a, b] of cases) {
      const [fast, ref] = [new Float32Array(size), new Float32Array(size)];
      expect(binaryF32('sub', a, b, shape, fast)).toBe(true);
      binary('sub', a, b, shape, ref);
      expect(fast).toEqual(ref);
    }
    expect(contiguousStrides(shape)).toEqual([240, 40, 8, 1]);
  });
});

describe('WebAssembly SiLU and its gradient match the reference', () => {
  // The float32 range reduction rounds v log2(e), so the relative error grows with |x|: allow
  // 6e-8 (|x| + 4) of the size of the terms (4 half-ulps at 0: exp's two, 1 + e, the division);
  // the gradient rounds three more times (g s, 1 + x (1 - s), the product): 6e-8 (|x| + 7). Values
  // under 1e-30 (the clamped far tail) are equal.
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const inputs = fc.integer({ min: 1, max: 5000 }).chain((n) =>
    fc.tuple(
      fc.array(fc.oneof(fc.double({ min: -30, max: 30, noNaN: true }), fc.constantFrom(0, -0, 100, -100, 87, -87, 1e-30, -1.2785)), { minLength: n, maxLength: n }),
      fc.integer({ min: 0, max: 1e6 }),
    ),
  );
  it('forward and gradient over random sizes and values, tails included', () => {
    fc.assert(
      fc.property(inputs, fc.boolean(), ([values, seed], resident) => {
        const x = place(Float32Array.from(values), resident), g = place(random(x.length, seed), resident);
        const [fast, ref] = [place(new Float32Array(x.length).fill(Number.NaN), resident), new Float32Array(x.length)];
        siluF32(x, fast);
        unary('silu', x, ref);
        x.forEach((v, i) => {
          const tol = 6e-8 * (Math.abs(v) + 4) * Math.abs(ref[i]!) + 1e-30;
          if (!(Math.abs(fast[i]! - ref[i]!) <= tol)) throw new Error(`silu(${v}): fast ${fast[i]}, reference ${ref[i]}`);
        });
        siluGradF32(x, g, fast);
        unaryGrad('silu', x, g, ref);
        x.forEach((v, i) => {
          const s = sigmoid(v);
          const tol = 6e-8 * (Math.abs(v) + 7) * Math.abs(g[i]!) * s * (1 + Math.abs(v) * (1 - s)) + 1e-30;
          if (!(Math.abs(fast[i]! - ref[i]!) <= tol)) throw new Error(`silu'(${v}) * ${g[i]}: fast ${fast[i]}, reference ${ref[i]}`);
        });
      }),
      { numRuns: 60 },
    );
  });
});
