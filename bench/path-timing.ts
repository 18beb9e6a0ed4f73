// What the side-by-side kernel-path script (conv-paths.ts) needs:
// operands resident in the wasm heap as the cpu backend's tensors are, and a median of calls.
import { getRuntime } from '../kernels/cpu/wasm/runtime';
import { Generator } from '../src/index';

const generator = new Generator(1);

/** n uniform values in [-0.5, 0.5) in a wasm-heap tensor (an ordinary array past the heap's budget). */
export function residentRandom(n: number): Float32Array {
  const a = getRuntime().heap.tensor(n) ?? new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = generator.uniform() - 0.5;
  return a;
}

/** The median of 15 timed calls of f after 3 warm-up ones, in ms. */
export function medianMs(f: () => void): number {
  for (let i = 0; i < 3; i++) f();
  const times = Array.from({ length: 15 }, () => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  }).sort((a, b) => a - b);
  return times[7]!;
}
