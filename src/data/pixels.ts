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

/**
 * Weights of an area (box-filter) resampling from n source pixels to m: output pixel j covers
 * source [j n/m, (j+1) n/m), each source pixel weighted by its overlap. Works both ways.
 */
function areaWeights(n: number, m: number): { start: number; weights: number[] }[] {
  const scale = n / m;
  return Array.from({ length: m }, (_, j) => {
    const a = j * scale, b = (j + 1) * scale;
    const start = Math.floor(a), end = Math.min(n, Math.ceil(b));
    const weights: number[] = [];
    for (let i = start; i < end; i++) weights.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
    return { start, weights };
  });
}

/**
 * An area resampler from w x h planes of values in [0, 1] to size x size: each call reads one plane
 * and writes 2 v - 1 (so [-1, 1]) for its size * size pixels into `out` from `offset`.
 */
export function areaResampler(w: number, h: number, size: number): (plane: ArrayLike<number>, out: Float32Array, offset: number) => void {
  const rows = areaWeights(h, size), cols = areaWeights(w, size);
  return (plane, out, offset) => {
    for (let y = 0; y < size; y++) {
      const ry = rows[y]!;
      for (let x = 0; x < size; x++) {
        const cx = cols[x]!;
        let v = 0;
        ry.weights.forEach((wy, dy) => cx.weights.forEach((wx, dx) => (v += wy * wx * plane[(ry.start + dy) * w + cx.start + dx]!)));
        out[offset + y * size + x] = 2 * v - 1;
      }
    }
  };
}

/**
 * One RGBA image (alpha composited over black) resized to size x size by area averaging, written
 * as `channels` planes in [-1, 1] into `out` from `offset`: grey by luminance 0.2989 R + 0.5870 G +
 * 0.1140 B, or RGB.
 */
export function rgbaInto(image: { width: number; height: number; data: ArrayLike<number> }, channels: 1 | 3, size: number, out: Float32Array, offset: number): void {
  const { width: w, height: h, data } = image;
  const planes = Array.from({ length: channels }, () => new Float32Array(w * h));
  for (let i = 0; i < w * h; i++) {
    const a = data[4 * i + 3]! / 255;
    const [r, g, b] = [data[4 * i]! / 255 * a, data[4 * i + 1]! / 255 * a, data[4 * i + 2]! / 255 * a];
    if (channels === 1) planes[0]![i] = 0.2989 * r + 0.587 * g + 0.114 * b;
    else [planes[0]![i], planes[1]![i], planes[2]![i]] = [r, g, b];
  }
  const resample = areaResampler(w, h, size);
  planes.forEach((plane, c) => resample(plane, out, offset + c * size * size));
}
