/** count grey images of size x size bytes, padded with background to `to` x `to`, scaled to [-1, 1]. */
export function padAndScale(bytes: Uint8Array, count: number, size: number, to: number): Float32Array {
  const pad = (to - size) / 2;
  const out = new Float32Array(count * to * to).fill(-1);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < size; y++) {
      const src = (n * size + y) * size, dst = (n * to + y + pad) * to + pad;
      for (let x = 0; x < size; x++) out[dst + x] = bytes[src + x]! / 127.5 - 1;
    }
  }
  return out;
}
