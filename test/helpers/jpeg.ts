// JPEG bytes for the tests: where a marker is, and a small baseline JPEG written by hand (any number
// of components, exact levels), for what neither cjpeg nor jpeg-js's encoder writes (grey with exact
// levels, CMYK, 2 or 4 components without an Adobe marker).

/** Where marker FF `m` (a segment) starts in a JPEG, walking the segments from SOI. */
export function markerAt(bytes: Uint8Array, m: number): number {
  for (let pos = 2; pos + 4 <= bytes.length;) {
    if (bytes[pos + 1] === m) return pos;
    pos += 2 + ((bytes[pos + 2]! << 8) | bytes[pos + 3]!);
  }
  throw new Error(`no marker FF${m.toString(16)}`);
}

/**
 * A baseline JPEG written here, of flat 8x8 blocks: `levels[c][b]` is component c's level in block b
 * (blocks row by row, `bw` x `bh` of them), all components sampled 1x1, quantization 1, so each
 * block is its DC coefficient 8 (level - 128) and an end-of-block. `adobe`: the APP14 transform code.
 */
export function flatJpeg(levels: number[][], bw: number, bh: number, adobe?: number): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  const segment = (m: number, data: number[]) => out.push(0xff, m, (data.length + 2) >> 8, (data.length + 2) & 255, ...data);
  if (adobe !== undefined) segment(0xee, [...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, adobe]);
  segment(0xdb, [0, ...new Array(64).fill(1)]);
  const n = levels.length;
  segment(0xc0, [8, (8 * bh) >> 8, (8 * bh) & 255, (8 * bw) >> 8, (8 * bw) & 255, n, ...levels.flatMap((_, c) => [c + 1, 0x11, 0])]);
  const dcCounts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]; // T.81's luminance DC table, categories 0-11
  segment(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i)]);
  segment(0xc4, [0x10, 1, ...new Array(15).fill(0), 0x00]); // AC: end-of-block only, code 0
  const dcCode: [number, number][] = [];
  for (let len = 1, code = 0; len <= 16; len++, code <<= 1) for (let i = 0; i < dcCounts[len - 1]!; i++) dcCode.push([code++, len]);
  segment(0xda, [n, ...levels.flatMap((_, c) => [c + 1, 0x00]), 0, 63, 0]);
  let acc = 0, bits = 0;
  const put = (value: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++bits === 8) {
        out.push(acc, ...(acc === 0xff ? [0] : []));
        acc = bits = 0;
      }
    }
  };
  const pred = new Array(n).fill(0);
  for (let b = 0; b < bw * bh; b++) {
    for (let c = 0; c < n; c++) {
      const dc = 8 * (levels[c]![b]! - 128), diff = dc - pred[c];
      pred[c] = dc;
      const s = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(...dcCode[s]!);
      put(diff < 0 ? diff + (1 << s) - 1 : diff, s);
      put(0, 1); // end of block
    }
  }
  while (bits) put(1, 1);
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/** Where the frame header (SOF0, SOF1 or SOF2) starts: its height is the 16-bit word at +5, its width at +7. */
export function sofAt(bytes: Uint8Array): number {
  for (let pos = 2; pos + 4 <= bytes.length;) {
    if (bytes[pos + 1]! >= 0xc0 && bytes[pos + 1]! <= 0xc2) return pos;
    pos += 2 + ((bytes[pos + 2]! << 8) | bytes[pos + 3]!);
  }
  throw new Error('no frame header');
}
