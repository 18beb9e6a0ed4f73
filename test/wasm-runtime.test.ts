import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// The thread count is fixed when the runtime starts (once per process), so this runs in a child
// process with exactly two threads: argument list 0 runs on the caller, list 1 on the one worker.
// The child is `node --input-type=module -e`, a flag the workers must not inherit (it used to keep
// them from starting, and the first parallel call waited for them forever).
const root = resolve(import.meta.dirname, '..');

function runWithTwoThreads(body: string): { stdout: string; stderr: string; status: number | null } {
  const url = pathToFileURL(join(root, 'kernels/cpu/wasm/runtime.ts')).href;
  const code = `const { getRuntime } = await import(${JSON.stringify(url)});\nconst rt = getRuntime();\n${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ONESTEP_THREADS: '2' },
  });
}

describe('wasm thread pool', () => {
  it("reports a worker's error with its message, the kernel and its arguments, and keeps working", () => {
    // silu(src, dst, begin, end) reading 2 GiB past the start of a 16 MiB memory traps on the worker.
    // Addresses below 1024 bytes are never handed out by the heap: free for a test.
    const r = runWithTwoThreads(`
try {
  rt.parallel('silu', [{ src: 0, dst: 512, begin: 0, end: 16 }, { src: 0x7fff0000, dst: 512, begin: 0, end: 16 }]);
  console.log('no error');
} catch (e) {
  console.log(e.message);
}
const mem = rt.heap.f32;
mem.set([0, 1, 2, 3, 4, 5, 6, 7], 0);
rt.parallel('silu', [{ src: 0, dst: 64, begin: 0, end: 16 }, { src: 0, dst: 64, begin: 16, end: 32 }]);
console.log('after: ' + Array.from(mem.subarray(16, 24), (v) => v.toFixed(4)).join(' '));
`);
    expect(r.stderr).toBe('');
    const [first, after] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^wasm kernel 'silu' failed on worker thread 1 \(arguments \[2147418112, 512, 0, 16\]\): RuntimeError: memory access out of bounds/);
    const silu = (x: number) => (x / (1 + Math.exp(-x))).toFixed(4);
    expect(after).toBe(`after: ${[0, 1, 2, 3, 4, 5, 6, 7].map(silu).join(' ')}`);
  });

  it("waits for the workers when the caller's own share throws, and rethrows that error", () => {
    const r = runWithTwoThreads(`
try {
  rt.parallel('silu', [{ src: 0x7fff0000, dst: 512, begin: 0, end: 16 }, { src: 0, dst: 512, begin: 0, end: 16 }]);
} catch (e) {
  console.log(e.constructor.name + ': ' + e.message);
}
`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('RuntimeError: memory access out of bounds');
  });
});

describe('wasm binary kernels', () => {
  it('cover WASM_BINARY_OPS, a subset of the Backend BINARY_OPS, under their own name', async () => {
    const { BINARY_OPS } = await import('../src/backend/backend');
    const wasm = await import('../kernels/cpu/wasm/binary-module');
    const { KERNEL_NAMES } = await import('../kernels/cpu/wasm/kernels');
    expect('BINARY_OPS' in wasm).toBe(false); // one BINARY_OPS in the code base
    expect(BINARY_OPS.filter(wasm.isWasmBinaryOp)).toEqual([...wasm.WASM_BINARY_OPS]);
    for (const op of wasm.WASM_BINARY_OPS) expect(KERNEL_NAMES).toEqual(expect.arrayContaining([`binarySame_${op}`, `binaryRows_${op}`]));
  });
});
