import type { Backend } from '../backend/backend';

// Deterministic release of device buffers (tfjs-core's tidy): buffers created inside tidy(fn) are
// disposed when fn returns, except those reachable from its result, those kept with keep(), and
// those claimed by long-lived state (Tensor.assign, leaf gradients, optimiser moments). A buffer
// replaced in long-lived state is handed back with release() and disposed at the end of the
// innermost scope. On the cpu backend dispose hands the buffer to a pool for reuse (cpu-reference:
// a no-op); on gpu.js backends it frees device memory, which the garbage collector would
// otherwise reclaim only when it happens to run.

type Scope = Map<object, Backend>;
const scopes: Scope[] = [];

/** Called by RawTensor for every buffer it creates. */
export function track(backend: Backend, buffer: unknown): void {
  if (scopes.length && typeof buffer === 'object' && buffer !== null) scopes[scopes.length - 1]!.set(buffer, backend);
}

/** The buffer outlives every open scope. */
function keepBuffer(buffer: unknown): void {
  if (typeof buffer === 'object' && buffer !== null) for (const s of scopes) s.delete(buffer);
}

// Buffers held by long-lived state (parameter values, leaf gradients, optimiser moments). Each has
// one holder: release() frees a replaced buffer, which must not be in use anywhere else.
const owned = new WeakSet<object>();

/**
 * Makes `buffer` the long-lived state of one holder (it outlives every open scope). Returns false
 * when another holder already owns it: the caller must take a copy instead of sharing it.
 */
export function claim(buffer: unknown): boolean {
  if (typeof buffer !== 'object' || buffer === null) return true;
  if (owned.has(buffer)) return false;
  owned.add(buffer);
  keepBuffer(buffer);
  return true;
}

/** Keeps a tensor's buffer alive past the end of every open tidy() scope; returns the tensor. */
export function keep<T extends { raw: { buffer: unknown } } | { buffer: unknown }>(t: T): T {
  keepBuffer('raw' in t ? t.raw.buffer : t.buffer);
  return t;
}

/** Long-lived state dropped this buffer: dispose it when the innermost scope ends (if there is one). */
export function release(backend: Backend, buffer: unknown): void {
  if (typeof buffer === 'object' && buffer !== null) owned.delete(buffer);
  track(backend, buffer);
}

/**
 * Buffers held by `value`: a Tensor or RawTensor, or arrays / plain objects / Maps of them nested
 * to any depth. `seen` holds the objects already visited, so shared and cyclic structures end.
 */
function collect(value: unknown, into: Set<object>, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const v = value as { raw?: { buffer?: unknown }; buffer?: unknown; backend?: unknown; grad?: unknown };
  if (v.raw && typeof v.raw === 'object' && 'buffer' in v.raw) {
    into.add(v.raw.buffer as object);
    if (v.grad) collect(v.grad, into, seen);
    return;
  }
  if (v.backend && 'buffer' in v) {
    into.add(v.buffer as object);
    return;
  }
  if (Array.isArray(value)) for (const item of value) collect(item, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype || value instanceof Map) {
    for (const item of value instanceof Map ? value.values() : Object.values(value)) collect(item, into, seen);
  }
}

/**
 * Runs fn and disposes the buffers it created that its result does not hold; survivors move to
 * the enclosing scope. Nest freely. If fn throws, everything it created is disposed.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = new Map();
  scopes.push(scope);
  let result: T | undefined;
  let ok = false;
  try {
    result = fn();
    ok = true;
    return result;
  } finally {
    scopes.pop();
    const live = new Set<object>();
    if (ok) collect(result, live);
    for (const [buffer, backend] of scope) {
      if (live.has(buffer)) track(backend, buffer);
      else backend.dispose(buffer);
    }
  }
}
