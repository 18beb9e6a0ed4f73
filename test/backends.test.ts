import { describe, expect, it, vi } from 'vitest';
import { createGpujsBackend } from '../kernels/gpujs/backend';
import { gpujsBackend } from '../src/backends';
import { AdamW, cm, Generator, getBackend, randn, setBackend, SimpleUNet, tensor, tidy, withBackend } from '../src/index';

// Backend selection and device-buffer lifetime. The webgpu backend here is Dawn on whatever
// adapter this machine has (Mesa's software OpenGL ES in CI); it must start.

describe('backend selection', () => {
  it('names every backend when asked for an unknown one', () => {
    expect(() => setBackend('gpu' as never)).toThrow(/Unknown backend 'gpu'. Available: cpu, cpu-reference, webgpu, webasm, gpujs-cpu, auto/);
  });

  it("'auto' takes WebGPU only on a hardware adapter, and says which it took", () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const name = withBackend('auto', () => getBackend().name);
      const adapter = gpujsBackend('webgpu').adapter!;
      expect(name).toBe(adapter.software ? 'cpu' : 'webgpu');
      expect(String(write.mock.calls.at(-1)?.[0])).toMatch(new RegExp(`onestep: backend auto -> ${name} \\(`));
    } finally {
      write.mockRestore();
    }
  });

  it('a backend that cannot start says why and how to get it', () => {
    const saved = process.env.ONESTEP_WEBGPU_BACKEND;
    process.env.ONESTEP_WEBGPU_BACKEND = 'vulkan';
    try {
      const b = createGpujsBackend('webgpu');
      // a machine with a Vulkan driver starts it; then it must really be on Vulkan
      expect(b.adapter?.backend).toBe('vulkan');
    } catch (e) {
      expect((e as Error).message).toMatch(/Backend 'webgpu' is not available here: webgpu: no WebGPU adapter \(vulkan: .*\)\. .*apt-get install libegl1 libgles2 libgl1-mesa-dri.*libvulkan1/);
    } finally {
      if (saved === undefined) delete process.env.ONESTEP_WEBGPU_BACKEND;
      else process.env.ONESTEP_WEBGPU_BACKEND = saved;
    }
  });

  it('float64 tensors stay on the CPU reference while webgpu holds float32', () => {
    withBackend('webgpu', () => {
      expect(tensor([1, 2], { dtype: 'float64' }).raw.backend.name).toBe('cpu-reference');
      expect(tensor([1, 2]).raw.backend.name).toBe('webgpu');
      expect(Array.from(tensor([1, 2]).cast('float64').add(tensor([3, 4], { dtype: 'float64' })).toArray())).toEqual([4, 6]);
    });
  });
});

describe('device buffers are freed deterministically (webgpu)', () => {
  const live = (): number => gpujsBackend('webgpu').stats().liveBuffers;

  it('tidy frees what it made, except its result; dispose frees at once', () => {
    withBackend('webgpu', () => {
      const before = live();
      const kept = tidy(() => {
        const a = tensor([1, 2, 3]), b = tensor([4, 5, 6]);
        const unused = a.mul(b).exp();
        expect(unused.size).toBe(3);
        return a.add(b).reshape([3, 1]);
      });
      expect(live()).toBe(before + 1);
      expect(Array.from(kept.toArray())).toEqual([5, 7, 9]);
      kept.dispose();
      expect(live()).toBe(before);
    });
  });

  it('training steps reach a steady number of live buffers (no leak)', () => {
    withBackend('webgpu', () => {
      const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(0) });
      const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
      const f = cm.simpleUNetConsistency(model, 'official', 250);
      const x = randn([2, 1, 8, 8], { generator: new Generator(1) });
      const ctx: cm.CtStepContext = { levels: cm.ictLevels(100), student: f, model, optimizer, generator: new Generator(2) };
      const counts: number[] = [];
      for (let step = 0; step < 4; step++) {
        cm.ctStep(ctx, x, step);
        counts.push(live());
      }
      // after the first step (which creates the optimiser's moments) the count stays put
      expect(counts.slice(1)).toEqual([counts[1], counts[1], counts[1]]);
    });
  });
});
