import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import platform from '#platform';
import { getRuntime } from '../kernels/cpu/wasm/runtime';
import { conv2d, cpuThreads, getBackend, init, randn, Generator, withBackend } from '../src/index';
import { imageFromRgba, imageGrid } from '../src/io/image-grid';
import { tensor } from '../src/tensor/create';

// init(): the asynchronous start of the CPU threads and the device worker (what a browser needs;
// optional in Node), and the RGBA image helpers the browser entry offers.

/** Whether /proc/cpuinfo lists the fma flag (Linux x86). */
function cpuHasFma(): boolean {
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** init({ threads: 1 }) as on a page that is not cross-origin isolated: no shared memory. */
async function initUnshared(): Promise<void> {
  const spy = vi.spyOn(platform, 'sharedMemory').mockReturnValue(false);
  try {
    await init({ backend: 'cpu', threads: 1 });
  } finally {
    spy.mockRestore();
  }
}

function convOnce(): Float32Array {
  const g = new Generator(3);
  const x = randn([2, 9, 11, 13], { generator: g }), w = randn([8, 9, 3, 3], { generator: g });
  return conv2d(x, w, undefined, { padding: 1 }).toArray() as Float32Array;
}

describe('init', () => {
  it('starts the CPU kernels with the threads asked for, one thread on unshared memory, and they agree with the reference', async () => {
    const reference = withBackend('cpu-reference', convOnce);
    await initUnshared();
    expect(getRuntime().threads).toBe(1);
    expect(getRuntime().memory.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const unshared = convOnce();
    // one thread where memory can be shared (Node): shared, tensors resident in the heap
    expect((await init({ backend: 'cpu', threads: 1 })).name).toBe('cpu');
    expect(getRuntime().threads).toBe(1);
    expect(getRuntime().memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const one = convOnce();
    await init({ backend: 'cpu', threads: 2 });
    expect(cpuThreads()).toBe(2);
    expect(getRuntime().memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const two = convOnce();
    // float32 accumulation of 81 terms of |x w| ~ 1: a few ulps of the sum's magnitude
    reference.forEach((r, i) => {
      expect(Math.abs(unshared[i]! - r)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(one[i]! - r)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(two[i]! - r)).toBeLessThanOrEqual(1e-4);
    });
  });

  it('grows the unshared memory of one thread (a GEMM needing more than its first 16 MiB)', async () => {
    await initUnshared();
    expect(getRuntime().memory.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const g = new Generator(4);
    const a = randn([1200, 1100], { generator: g }), b = randn([1100, 1300], { generator: g });
    const before = getRuntime().memory.buffer.byteLength;
    const c = a.matmul(b).toArray();
    expect(getRuntime().memory.buffer.byteLength).toBeGreaterThan(before);
    const av = a.toArray(), bv = b.toArray();
    for (const [i, j] of [[0, 0], [17, 1299], [1199, 640], [600, 5]] as const) {
      let dot = 0, size = 0;
      for (let k = 0; k < 1100; k++) {
        dot += av[i * 1100 + k]! * bv[k * 1300 + j]!;
        size += Math.abs(av[i * 1100 + k]! * bv[k * 1300 + j]!);
      }
      expect(Math.abs(c[i * 1300 + j]! - dot)).toBeLessThanOrEqual(1e-5 * size);
    }
    await init({ backend: 'cpu', threads: 2 });
  });

  it("uses relaxed SIMD's multiply-add where WebAssembly has it, plain SIMD under ONESTEP_RELAXED_SIMD=0, both close to the reference", async () => {
    const g = new Generator(5);
    const a = randn([70, 300], { generator: g }), b = randn([300, 90], { generator: g });
    const product = () => a.matmul(b).toArray() as Float32Array;
    const onReference = (f: (v: number) => number) => withBackend('cpu-reference', () =>
      tensor(a.toArray().map(f), { shape: [70, 300] }).matmul(tensor(b.toArray().map(f), { shape: [300, 90] })).toArray());
    const [reference, magnitude] = [onReference((v) => v), onReference(Math.abs)];
    await init({ backend: 'cpu', threads: 2 });
    expect(getRuntime().features.relaxedMadd).toBe(true); // Node 20 behind the flag onestep sets, on by default from Node 22
    const fused = product();
    process.env.ONESTEP_RELAXED_SIMD = '0';
    let plain: Float32Array;
    try {
      await init({ backend: 'cpu', threads: 2 });
      expect(getRuntime().features.relaxedMadd).toBe(false);
      plain = product();
      process.env.ONESTEP_RELAXED_SIMD = 'yes';
      await expect(init({ backend: 'cpu', threads: 1 })).rejects.toThrow("ONESTEP_RELAXED_SIMD must be 0 or 1, got 'yes'.");
    } finally {
      delete process.env.ONESTEP_RELAXED_SIMD;
    }
    await init({ backend: 'cpu', threads: 2 });
    expect(getRuntime().features.relaxedMadd).toBe(true);
    // fused multiply-adds round once where mul + add round twice: different bits where the CPU has
    // FMA (V8 lowers relaxed_madd to mul + add elsewhere), both within float32 accumulation error of
    // the float64 reference (as the GEMM parity tests)
    if (cpuHasFma()) expect(Array.from(fused)).not.toEqual(Array.from(plain));
    else console.log('init.test: this CPU has no FMA (or no /proc/cpuinfo says so), so relaxed_madd is mul + add: the fused and plain results are not compared');
    reference.forEach((r, i) => {
      expect(Math.abs(fused[i]! - r)).toBeLessThanOrEqual(1e-5 * magnitude[i]! + 1e-7);
      expect(Math.abs(plain[i]! - r)).toBeLessThanOrEqual(1e-5 * magnitude[i]! + 1e-7);
    });
  });

  it('refuses a bad thread count or backend name with the fix', async () => {
    await expect(init({ threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
    await expect(init({ threads: 1.5 })).rejects.toThrow(/threads must be a positive integer/);
    await expect(init({ backend: 'tpu' as never })).rejects.toThrow(/Unknown backend 'tpu'.*init\(\) or setBackend\(\)/);
    expect(getBackend().name).toBe('cpu');
  });

  it('starts the webgpu backend without blocking, once for calls that overlap, and it computes', async () => {
    const [backend, again] = await Promise.all([init({ backend: 'webgpu', threads: 2 }), init({ backend: 'webgpu' })]);
    expect(again).toBe(backend);
    expect(backend.name).toBe('webgpu');
    expect(getBackend()).toBe(backend);
    expect(tensor([1, 2, 3]).mul(tensor([4, 5, 6])).add(0.5).sum().toArray()[0]).toBe(33.5);
    const r = randn([5000], { generator: new Generator(1) });
    expect(r.square().sum().item()).toBeCloseTo(withBackend('cpu', () => randn([5000], { generator: new Generator(1) }).square().sum().item()), 1);
    await init({ backend: 'cpu' });
  }, 120_000);
});

describe('image grids as RGBA', () => {
  it('lays images out in columns with white padding, -1 -> 0 and 1 -> 255', () => {
    const images = tensor([-1, 1, 0, 1, /* second image */ 1, 1, 1, -1], { shape: [2, 1, 2, 2] });
    const grid = imageGrid(images, 2, 1);
    expect([grid.width, grid.height]).toEqual([7, 4]);
    const at = (x: number, y: number) => Array.from(grid.data.subarray((y * 7 + x) * 4, (y * 7 + x) * 4 + 4));
    expect(at(0, 0)).toEqual([255, 255, 255, 255]);
    expect(at(1, 1)).toEqual([0, 0, 0, 255]);
    expect(at(2, 1)).toEqual([255, 255, 255, 255]);
    expect(at(1, 2)).toEqual([128, 128, 128, 255]);
    expect(at(5, 2)).toEqual([0, 0, 0, 255]);
    expect(() => imageGrid(tensor([1, 2]), 1)).toThrow(/must be \[N, 1 or 3, H, W\]/);
  });

  it('reads RGBA pixels back as one image: the luma for one channel, R, G, B planes for three', () => {
    const data = new Uint8ClampedArray([255, 255, 255, 9, 0, 0, 0, 255, 255, 0, 0, 255]);
    expect(Array.from(imageFromRgba({ width: 3, height: 1, data }, 1).toArray())).toEqual([1, -1, 0.299 * 255 / 127.5 - 1].map(Math.fround));
    const rgb = imageFromRgba({ width: 3, height: 1, data }, 3);
    expect(rgb.shape).toEqual([1, 3, 1, 3]);
    expect(Array.from(rgb.toArray())).toEqual([1, -1, 1, 1, -1, -1, 1, -1, -1]);
    expect(() => imageFromRgba({ width: 2, height: 2, data }, 1)).toThrow(/12 bytes for a 2x2 RGBA image \(needs 16\)/);
    // a grid of one image without padding reads back as the image, to 8-bit quantisation
    const x = tensor([-1, -0.5, 0, 0.25, 0.5, 1], { shape: [1, 1, 2, 3] });
    const back = imageFromRgba(imageGrid(x, 1, 0), 1).toArray();
    Array.from(x.toArray()).forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(1 / 255 + 1e-6));
  });
});
