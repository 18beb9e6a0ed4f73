import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { cpuBackend, cpuReferenceBackend } from '../kernels/cpu/index';
import { LiveBuffers } from '../kernels/cpu/live';
import { randn, tensor, tidy, withBackend } from '../src/index';

const live = (): number => cpuBackend.memoryStats().liveBuffers;
// the garbage collector on demand: node --expose-gc's, else the flag set at run time
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

describe('live-buffer accounting (Backend.memoryStats)', () => {
  it('the cpu backend counts a buffer from alloc until dispose, once however often it is disposed', () => {
    const before = cpuBackend.memoryStats();
    const a = cpuBackend.alloc(5000, 'float32');
    const b = cpuBackend.fromArray([1, 2, 3], 'float32');
    expect(live()).toBe(before.liveBuffers + 2);
    expect(cpuBackend.memoryStats().liveBytes).toBe(before.liveBytes + 5000 * 4 + 3 * 4);
    cpuBackend.dispose(a);
    cpuBackend.dispose(a);
    expect(live()).toBe(before.liveBuffers + 1);
    // a pooled buffer handed out again is live again
    const again = cpuBackend.alloc(5000, 'float32');
    expect(again).toBe(a);
    expect(live()).toBe(before.liveBuffers + 2);
    cpuBackend.dispose(again);
    cpuBackend.dispose(b);
    expect(live()).toBe(before.liveBuffers);
    expect(cpuBackend.memoryStats().liveBytes).toBe(before.liveBytes);
  });

  it('rises with the tensors made inside tidy() and falls back when it returns', () => {
    withBackend('cpu', () => {
      const before = live();
      let inside = 0;
      const kept = tidy(() => {
        const x = randn([4, 64, 32]);
        const y = x.mul(2).add(tensor([1]));
        inside = live();
        return y.sum();
      });
      expect(inside).toBeGreaterThan(before + 2);
      expect(live()).toBe(before + 1); // the result
      kept.dispose();
      expect(live()).toBe(before);
      // the same work again leaves the count where it was
      tidy(() => void randn([4, 64, 32]).mul(2).sum().toArray());
      expect(live()).toBe(before);
    });
  });

  it('cpu-reference counts the same way (its dispose frees nothing but ends the count)', () => {
    const before = cpuReferenceBackend.memoryStats().liveBuffers;
    const a = cpuReferenceBackend.alloc(10, 'float64');
    const c = cpuReferenceBackend.cast(a, 'float32');
    expect(cpuReferenceBackend.memoryStats().liveBuffers).toBe(before + 2);
    cpuReferenceBackend.dispose(a);
    cpuReferenceBackend.dispose(c);
    expect(cpuReferenceBackend.memoryStats().liveBuffers).toBe(before);
  });

  it('a buffer dropped without dispose leaves the count when the garbage collector reclaims it', async () => {
    const counter = new LiveBuffers();
    (() => void counter.handOut(new Float32Array(100)))();
    expect(counter.stats().liveBuffers).toBe(1);
    for (let i = 0; i < 5 && counter.stats().liveBuffers; i++) {
      gc!();
      await new Promise((done) => setTimeout(done, 10));
    }
    expect(counter.stats()).toEqual({ liveBuffers: 0, liveBytes: 0, collected: 1 });
  });
});
