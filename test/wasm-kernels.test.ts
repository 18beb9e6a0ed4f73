import { describe, expect, it } from 'vitest';
import { buildKernelModule, KERNEL_NAMES, kernelEntry, KERNELS, positionalArgs } from '../kernels/cpu/wasm/kernels';
import { kernel, MAX_KERNEL_PARAMS } from '../kernels/cpu/wasm/kernel-def';
import { getRuntime } from '../kernels/cpu/wasm/runtime';

// The wasm kernel table (kernels/cpu/wasm/kernels.ts): names, the module built from it, the
// runtime's kernels, and the named-argument check.

/** Every parameter 0: an empty range for each kernel, so the call does nothing. */
const zeros = (params: readonly string[]) => Object.fromEntries(params.map((name) => [name, 0]));

describe('wasm kernel table', () => {
  it('has unique kernel names, and unique parameter names per kernel', () => {
    expect(new Set(KERNEL_NAMES).size).toBe(KERNELS.length);
    expect(KERNEL_NAMES).toEqual(KERNELS.map((k) => k.name));
    for (const k of KERNELS) expect(new Set(k.params).size, k.name).toBe(k.params.length);
  });

  it('builds a module that exports exactly its kernels, in table order, with one i32 per parameter', () => {
    const module = new WebAssembly.Module(buildKernelModule());
    expect(WebAssembly.Module.exports(module)).toEqual(KERNEL_NAMES.map((name) => ({ name, kind: 'function' })));
    const instance = new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) } });
    for (const k of KERNELS) expect((instance.exports[k.name] as (...args: number[]) => void).length, k.name).toBe(k.params.length);
    KERNEL_NAMES.forEach((name, i) => expect(kernelEntry(name).index).toBe(i));
  });

  it("is what the runtime exposes: exactly the table's kernels, each callable by name", () => {
    const rt = getRuntime();
    expect(rt.kernelNames).toEqual(KERNEL_NAMES);
    for (const k of KERNELS) expect(() => rt.parallel(k.name, [zeros(k.params) as never]), k.name).not.toThrow();
  });

  it('refuses a missing or unknown argument name, naming the kernel and its parameters, before any list runs', () => {
    const rt = getRuntime();
    rt.frame((f) => {
      const src = f.scratch(4), dst = f.scratch(4), mem = f.mem;
      mem.set([1, 2, 3, 4], src);
      mem.fill(0, dst, dst + 4);
      const good = { src: src * 4, dst: dst * 4, begin: 0, end: 16 };
      const call = (second: Record<string, number>) => () => rt.parallel('silu', [good, second as typeof good]);
      expect(call({ src: 0, dst: 64, begin: 0 })).toThrow("wasm kernel 'silu': arguments missing 'end' (its parameters: src, dst, begin, end).");
      expect(call({ ...good, size: 4 })).toThrow("wasm kernel 'silu': arguments unknown 'size' (its parameters: src, dst, begin, end).");
      expect(call({ src: 0, dst: 64, start: 0, end: 16 })).toThrow("wasm kernel 'silu': arguments missing 'begin'; unknown 'start' (its parameters: src, dst, begin, end).");
      expect(Array.from(mem.subarray(dst, dst + 4))).toEqual([0, 0, 0, 0]); // the first (valid) list did not run
    });
    expect(() => rt.parallel('nope' as never, [])).toThrow("wasm kernel 'nope' is not in the kernel table (kernels.ts).");
  });

  it("refuses a kernel with more parameters than a worker's control block holds", () => {
    const params = Array.from({ length: MAX_KERNEL_PARAMS + 1 }, (_, i) => `p${i}`);
    expect(() => kernel('big', params, () => {})).toThrow(`wasm kernel 'big' has ${MAX_KERNEL_PARAMS + 1} parameters; at most ${MAX_KERNEL_PARAMS} fit`);
    expect(Math.max(...KERNELS.map((k) => k.params.length))).toBeLessThanOrEqual(MAX_KERNEL_PARAMS);
  });

  it('checks the named calls between kernels the same way', () => {
    const gemm = kernelEntry('gemm').def;
    const push = Object.fromEntries(gemm.params.map((name) => [name, () => {}]));
    expect(positionalArgs(gemm, push)).toHaveLength(gemm.params.length);
    const { accumulate: _, ...missing } = push;
    expect(() => positionalArgs(gemm, missing)).toThrow("wasm kernel 'gemm': arguments missing 'accumulate'");
  });
});
