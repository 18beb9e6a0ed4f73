import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { FormatError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { checkGridInput, imageGrid } from './image-grid';

/** A decoded PNG: `data` holds width x height RGBA pixels, 8 bits per channel, row by row. */
export interface PngImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * The largest image decodePng accepts: 2^26 pixels (8192 x 8192; 256 MiB of RGBA). A training image
 * is far smaller, and this bounds what a header can make pngjs allocate whatever the file holds.
 */
export const PNG_MAX_PIXELS = 2 ** 26;
/**
 * Deflate's largest expansion: 258 bytes from one length/distance pair coded in 2 bits, so at most
 * 1032 bytes out per compressed byte in. An image whose pixel bytes exceed 1032 times its IDAT bytes
 * cannot be complete, and is refused before pngjs allocates its pixels.
 */
export const DEFLATE_MAX_RATIO = 1032;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Allowed bit depths of each PNG colour type, and its samples per pixel (PNG specification, 11.2.2). */
const COLOR_TYPES: Record<number, { depths: number[]; samples: number }> = {
  0: { depths: [1, 2, 4, 8, 16], samples: 1 },
  2: { depths: [8, 16], samples: 3 },
  3: { depths: [1, 2, 4, 8], samples: 1 },
  4: { depths: [8, 16], samples: 2 },
  6: { depths: [8, 16], samples: 4 },
};

/**
 * Walks the chunks itself (lengths inside the file, IHDR first and once, valid IHDR fields, some
 * IDAT) and checks the image size against PNG_MAX_PIXELS and DEFLATE_MAX_RATIO; returns why the
 * bytes are not a PNG onestep reads, or the IHDR size.
 */
function checkStructure(bytes: Uint8Array): string | { width: number; height: number } {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return 'it does not start with the PNG signature';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8, idatBytes = 0, ended = false;
  let header: { width: number; height: number; bits: number } | null = null;
  while (!ended) {
    if (pos + 8 > bytes.length) return 'it ends before its IEND chunk (file truncated?)';
    const length = dv.getUint32(pos, false);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const name = /^[A-Za-z]{4}$/.test(type) ? type : JSON.stringify(type);
    if (length > 0x7fffffff || pos + 12 + length > bytes.length) return `its ${name} chunk runs past the end of the file (file truncated?)`;
    if (header === null && type !== 'IHDR') return `its first chunk is ${name}, not IHDR`;
    if (type === 'IHDR') {
      if (header !== null) return 'it has a second IHDR chunk';
      if (length !== 13) return `its IHDR chunk has ${length} bytes, not 13`;
      const width = dv.getUint32(pos + 8, false), height = dv.getUint32(pos + 12, false);
      const [depth, colorType, compression, filter, interlace] = bytes.subarray(pos + 16, pos + 21);
      if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) return `its size ${width}x${height} is not a valid PNG size`;
      const kind = COLOR_TYPES[colorType!];
      if (!kind) return `its colour type ${colorType} is not a PNG colour type`;
      if (!kind.depths.includes(depth!)) return `its bit depth ${depth} is not allowed for colour type ${colorType}`;
      if (compression !== 0 || filter !== 0 || (interlace !== 0 && interlace !== 1)) return 'its IHDR names an unknown compression, filter or interlace method';
      if (width * height > PNG_MAX_PIXELS) return `it is ${width}x${height} pixels, more than the ${PNG_MAX_PIXELS} (2^26) onestep reads; scale it down`;
      header = { width, height, bits: depth! * kind.samples };
    } else if (type === 'IDAT') idatBytes += length;
    else if (type === 'IEND') ended = true;
    pos += 12 + length;
  }
  if (header === null) return 'it has no IHDR chunk';
  if (idatBytes === 0) return 'it has no image data (IDAT chunk)';
  const pixelBytes = Math.ceil((header.width * header.height * header.bits) / 8);
  if (pixelBytes > DEFLATE_MAX_RATIO * idatBytes) {
    return `its ${header.width}x${header.height} pixels need ${pixelBytes} bytes but its ${idatBytes} bytes of compressed data can hold at most ${DEFLATE_MAX_RATIO * idatBytes} (file truncated or corrupt?)`;
  }
  return { width: header.width, height: header.height };
}

/**
 * Decodes a PNG into 8-bit RGBA. The signature and chunk layout are checked here and the size is
 * capped (PNG_MAX_PIXELS, DEFLATE_MAX_RATIO) before pngjs decodes it, so no header can make it
 * allocate more than the file can describe; every failure is a FormatError naming `source`.
 */
export function decodePng(bytes: Uint8Array, source = 'buffer'): PngImage {
  const fail = (why: string): never => {
    throw new FormatError(source, `PNG: ${source} is not a readable PNG: ${why}; remove it or re-save it as PNG.`);
  };
  const shape = checkStructure(bytes);
  if (typeof shape === 'string') return fail(shape);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const { width, height } = shape;
  if (png.width !== width || png.height !== height || !(png.data instanceof Uint8Array) || png.data.length !== width * height * 4) {
    return fail('pngjs decoded a different size than its header declares');
  }
  return { width, height, data: png.data };
}

/**
 * Writes images [N, C, H, W] with values in [-1, 1] (C = 1 grey or 3 RGB) as one PNG grid of
 * `columns` columns with a 2-pixel border (imageGrid); written to a temporary file and renamed.
 */
export function saveImageGrid(path: string, images: Tensor, columns = Math.ceil(Math.sqrt(images.shape[0] ?? 1))): void {
  checkGridInput('saveImageGrid', images.shape, columns);
  const grid = imageGrid(images, columns);
  const png = new PNG({ width: grid.width, height: grid.height });
  png.data.set(grid.data);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, PNG.sync.write(png));
  renameSync(tmp, path);
}
