import { describe, expect, it } from 'vitest';
import { cpuReferenceBackend } from '../kernels/cpu/index';
import type { Backend } from '../src/backend/backend';
import { RawTensor, Tensor, tidy } from '../src/index';

// A backend that records what tidy() disposes (and frees nothing, so values stay readable).
function spyBackend(): { backend: Backend; disposed: Set<unknown> } {
  const disposed = new Set<unknown>();
  const backend = { ...cpuReferenceBackend, name: 'spy', dispose: (b: unknown) => void disposed.add(b) } as unknown as Backend;
  return { backend, disposed };
}

const make = (backend: Backend, values: number[]) => new Tensor(RawTensor.fromArray(values, [values.length], 'float32', backend));

describe('tidy keeps what its result holds', () => {
  it('at any depth of arrays, objects and Maps', () => {
    const { backend, disposed } = spyBackend();
    let dropped: Tensor | undefined;
    const result = tidy(() => {
      dropped = make(backend, [0]);
      let nested: unknown = make(backend, [1, 2, 3]);
      for (let level = 0; level < 10; level++) nested = level % 3 === 0 ? [nested] : level % 3 === 1 ? { inner: nested } : new Map([['m', nested]]);
      return nested;
    });
    let t: unknown = result;
    for (let level = 9; level >= 0; level--) t = level % 3 === 0 ? (t as unknown[])[0] : level % 3 === 1 ? (t as { inner: unknown }).inner : (t as Map<string, unknown>).get('m');
    const deep = t as Tensor;
    expect(disposed.has(deep.raw.buffer)).toBe(false);
    expect(Array.from(deep.toArray())).toEqual([1, 2, 3]);
    expect(disposed.has(dropped!.raw.buffer)).toBe(true); // the check above can fail: tidy does dispose
  });

  it('on a cyclic result, without looping', () => {
    const { backend, disposed } = spyBackend();
    const result = tidy(() => {
      const a: Record<string, unknown> = {};
      const b: Record<string, unknown> = { a, list: [] as unknown[] };
      a.b = b;
      a.self = a;
      (b.list as unknown[]).push(b, a, { t: make(backend, [4, 5]) });
      return a;
    });
    const t = ((result.b as Record<string, unknown>).list as { t: Tensor }[])[2]!.t;
    expect(disposed.has(t.raw.buffer)).toBe(false);
    expect(Array.from(t.toArray())).toEqual([4, 5]);
  });
});
