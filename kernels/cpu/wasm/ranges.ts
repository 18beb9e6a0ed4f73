// What every wasm driver needs to lay out a call: sizes rounded up, work split between threads,
// floats as the i32 bits kernels take. A leaf module (the heap's frames use it too).

export const ceilTo = (x: number, m: number): number => Math.ceil(x / m) * m;

/** Splits [0, tiles) into at most `threads` contiguous ranges of near-equal size. */
export function split(tiles: number, threads: number): [number, number][] {
  const parts = Math.max(1, Math.min(threads, tiles));
  return Array.from({ length: parts }, (_, t) => [Math.floor((t * tiles) / parts), Math.floor(((t + 1) * tiles) / parts)]);
}

/** Byte ranges [begin, end) per thread over n floats padded to whole f32x4 vectors (16 bytes a step). */
export function laneRanges(n: number, threads: number): [number, number][] {
  return split(ceilTo(n, 4) / 4, threads).map(([a, b]) => [a * 16, b * 16]);
}

/** A number's float32 bits as an i32 (how kernels take float parameters). */
export const f32Bits = (x: number): number => new Int32Array(Float32Array.of(x).buffer)[0]!;
