import { decode } from 'jpeg-js';
import { FormatError } from '../errors';

// JPEG files (ImageNet's and most photographs) decoded by jpeg-js, a pure-JavaScript decoder, behind
// a walk of the markers done here first, as decodePng does for PNG: the segments must lie inside the
// file and end with EOI (so a truncated file is named as one), the frame and scans must be ones
// jpeg-js reads, the size is capped, and each scan must hold at least one bit per 8x8 block it codes
// before jpeg-js allocates its blocks. No Node module is used: this file runs anywhere.

/** A decoded JPEG: `data` holds width x height RGBA pixels (alpha 255), row by row, as decodePng's. */
export interface JpegImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The largest image decodeJpeg accepts: 2^26 pixels (8192 x 8192), PNG_MAX_PIXELS's cap. */
export const JPEG_MAX_PIXELS = 2 ** 26;
/**
 * jpeg-js's memory limit (MiB). It keeps every 8x8 block of every component as 256 bytes, plus the
 * components' sample lines, the samples and the RGBA output: by its count an image of JPEG_MAX_PIXELS
 * with 4 components at full resolution needs at most 1825 MiB (1025 x 65472, padded to 32x32 MCUs).
 */
const JPEG_MAX_MEMORY_MB = 2048;
/** The most scans decodeJpeg reads (libjpeg-turbo's advice for untrusted progressive files): each scan walks every block. */
const JPEG_MAX_SCANS = 500;
/** jpeg-js's own limits, set to the caps above: what decodeJpeg passes to it. */
export const JPEG_DECODE_LIMITS = { maxResolutionInMP: JPEG_MAX_PIXELS / 1e6, maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB } as const;

const hex = (byte: number) => byte.toString(16).toUpperCase().padStart(2, '0');
const SEGMENT_NAMES: Record<number, string> = { 0xc0: 'SOF0', 0xc1: 'SOF1', 0xc2: 'SOF2', 0xc4: 'DHT', 0xda: 'SOS', 0xdb: 'DQT', 0xdc: 'DNL', 0xdd: 'DRI', 0xfe: 'COM' };
const segmentName = (m: number) => SEGMENT_NAMES[m] ?? (m >= 0xe0 && m <= 0xef ? `APP${m - 0xe0}` : `FF${hex(m)}`);

interface Component { id: number; h: number; v: number; table: number; blocksPerLine: number; blocksPerColumn: number }

/**
 * Walks the markers (SOI first; every segment inside the file, of the length jpeg-js will read; one
 * 8-bit baseline, extended or progressive frame of 1, 3 or 4 components within JPEG_MAX_PIXELS;
 * scans that name defined tables and hold a bit per block; every component's DC coded; EOI last)
 * and returns why the bytes are not a JPEG onestep reads, or the frame's size.
 */
function checkStructure(b: Uint8Array): string | { width: number; height: number; colorTransform: boolean } {
  if (b.length < 2 || b[0] !== 0xff || b[1] !== 0xd8) return 'it does not start with the JPEG SOI marker (FF D8)';
  const truncated = 'it ends before its EOI marker (file truncated?)';
  let frame: { width: number; height: number; progressive: boolean; components: Map<number, Component>; mcus: number } | null = null;
  const quantTables = new Set<number>(), dcTables = new Set<number>(), acTables = new Set<number>(), dcCoded = new Set<number>();
  let jfif = false, adobe: number | null = null, scans = 0, pos = 2;
  for (;;) {
    if (pos >= b.length) return truncated;
    if (b[pos] !== 0xff) return `byte ${pos} is 0x${hex(b[pos]!)} where a marker should start (file corrupt?)`;
    while (pos < b.length && b[pos] === 0xff) pos++; // fill bytes before a marker
    if (pos >= b.length) return truncated;
    const m = b[pos++]!;
    if (m === 0xd9) break; // EOI
    if (m === 0x00 || m === 0x01 || (m >= 0xd0 && m <= 0xd8)) return `it has the marker FF${hex(m)} out of place (file corrupt?)`;
    if ([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf].includes(m)) {
      return `it is a lossless, hierarchical or arithmetic-coded JPEG (marker FF${hex(m)}), which onestep does not read`;
    }
    if (!(m in SEGMENT_NAMES) && !(m >= 0xe0 && m <= 0xef)) return `it has the marker FF${hex(m)}, which onestep does not read`;
    const name = segmentName(m);
    if (pos + 2 > b.length) return truncated;
    const length = (b[pos]! << 8) | b[pos + 1]!;
    if (length < 2) return `its ${name} segment declares ${length} bytes, fewer than its own length field`;
    if (pos + length > b.length) return `its ${name} segment runs past the end of the file (file truncated?)`;
    const seg = b.subarray(pos + 2, pos + length);
    pos += length;
    const invalid = `its ${name} segment is invalid`;
    if (m === 0xe0 && String.fromCharCode(...seg.subarray(0, 5)) === 'JFIF\0') jfif = true;
    else if (m === 0xee && String.fromCharCode(...seg.subarray(0, 6)) === 'Adobe\0') adobe = seg[11] ?? 0;
    else if (m === 0xdb) {
      for (let i = 0; i < seg.length;) {
        const precision = seg[i]! >> 4, id = seg[i]! & 15, size = 1 + 64 * (precision + 1);
        if (precision > 1 || id > 3 || i + size > seg.length) return invalid;
        quantTables.add(id);
        i += size;
      }
    } else if (m === 0xc4) {
      for (let i = 0; i < seg.length;) {
        if (i + 17 > seg.length) return invalid;
        const cls = seg[i]! >> 4, id = seg[i]! & 15;
        let count = 0, kraft = 0;
        for (let len = 1; len <= 16; len++) {
          count += seg[i + len]!;
          kraft += seg[i + len]! * 2 ** (16 - len);
        }
        if (cls > 1 || id > 3 || count > 256 || kraft > 2 ** 16 || i + 17 + count > seg.length) return invalid;
        (cls === 0 ? dcTables : acTables).add(id);
        i += 17 + count;
      }
    } else if (m === 0xdd || m === 0xdc) {
      if (seg.length !== 2) return invalid;
    } else if (m >= 0xc0 && m <= 0xc2) {
      if (frame) return 'it has a second frame header (SOF); onestep reads single-frame JPEGs';
      const nf = seg[5] ?? 0;
      if (seg.length < 6 || seg.length !== 6 + 3 * nf) return invalid;
      const precision = seg[0]!, height = (seg[1]! << 8) | seg[2]!, width = (seg[3]! << 8) | seg[4]!;
      if (precision !== 8) return `its samples have ${precision} bits; onestep reads 8-bit JPEGs`;
      if (height === 0) return 'its height is 0 (to be set by a later DNL marker), which onestep does not read';
      if (width === 0) return 'its width is 0';
      if (nf !== 1 && nf !== 3 && nf !== 4) return `it has ${nf} colour components; onestep reads 1 (grey), 3 (colour) or 4 (CMYK)`;
      if (width * height > JPEG_MAX_PIXELS) return `it is ${width}x${height} pixels, more than the ${JPEG_MAX_PIXELS} (2^26) onestep reads; scale it down`;
      const raw: { id: number; h: number; v: number; table: number }[] = [];
      for (let c = 0; c < nf; c++) {
        const id = seg[6 + 3 * c]!, h = seg[7 + 3 * c]! >> 4, v = seg[7 + 3 * c]! & 15, table = seg[8 + 3 * c]!;
        if (h < 1 || h > 4 || v < 1 || v > 4 || table > 3 || raw.some((r) => r.id === id)) return invalid;
        raw.push({ id, h, v, table });
      }
      const maxH = Math.max(...raw.map((r) => r.h)), maxV = Math.max(...raw.map((r) => r.v));
      const components = new Map<number, Component>();
      for (const r of raw) {
        // as jpeg-js counts them
        components.set(r.id, { id: r.id, h: r.h, v: r.v, table: r.table, blocksPerLine: Math.ceil((Math.ceil(width / 8) * r.h) / maxH), blocksPerColumn: Math.ceil((Math.ceil(height / 8) * r.v) / maxV) });
      }
      frame = { width, height, progressive: m === 0xc2, components, mcus: Math.ceil(width / 8 / maxH) * Math.ceil(height / 8 / maxV) };
    } else if (m === 0xda) {
      if (!frame) return 'its scan (SOS) comes before its frame header (SOF)';
      if (++scans > JPEG_MAX_SCANS) return `it has more than ${JPEG_MAX_SCANS} scans`;
      const ns = seg[0] ?? 0;
      if (ns < 1 || ns > 4 || seg.length !== 4 + 2 * ns) return invalid;
      const ss = seg[1 + 2 * ns]!, se = seg[2 + 2 * ns]!, ah = seg[3 + 2 * ns]! >> 4, al = seg[3 + 2 * ns]! & 15;
      if (frame.progressive && (ss > se || se > 63 || ah > 13 || al > 13 || (ss === 0 && se !== 0) || (ss > 0 && ns !== 1))) return `its progressive scan parameters (Ss ${ss}, Se ${se}, Ah ${ah}, Al ${al}) are invalid`;
      const inScan: Component[] = [];
      for (let c = 0; c < ns; c++) {
        const id = seg[1 + 2 * c]!, tables = seg[2 + 2 * c]!;
        const comp = frame.components.get(id);
        if (!comp || inScan.includes(comp)) return `its scan names component ${id}, which its frame does not have or the scan names twice`;
        if (!quantTables.has(comp.table)) return `its component ${id} uses quantization table ${comp.table}, which no DQT segment before the scan defines`;
        const needsDc = !frame.progressive || (ss === 0 && ah === 0), needsAc = !frame.progressive || ss > 0;
        if ((needsDc && !dcTables.has(tables >> 4)) || (needsAc && !acTables.has(tables & 15))) return `its scan uses a Huffman table that no DHT segment before it defines`;
        inScan.push(comp);
      }
      // the entropy-coded data: up to the next marker other than a restart (FF D0-D7) or a stuffed FF 00
      let bytes = 0;
      for (;;) {
        if (pos >= b.length - 1) return truncated;
        if (b[pos] !== 0xff) {
          pos++, bytes++;
        } else if (b[pos + 1] === 0x00) {
          pos += 2, bytes++;
        } else if (b[pos + 1]! >= 0xd0 && b[pos + 1]! <= 0xd7) pos += 2;
        else break;
      }
      // a scan with DC coefficients codes every block of its components, each in at least one bit
      if (!frame.progressive || ss === 0) {
        const blocks = ns === 1 ? inScan[0]!.blocksPerLine * inScan[0]!.blocksPerColumn : frame.mcus * inScan.reduce((n, c) => n + c.h * c.v, 0);
        if (8 * bytes < blocks) return `its scan codes ${blocks} blocks of 8x8 pixels in ${bytes} bytes, less than a bit per block (file truncated or corrupt?)`;
        for (const c of inScan) dcCoded.add(c.id);
      }
    }
  }
  if (!frame) return 'it has no frame header (SOF)';
  for (const id of frame.components.keys()) if (!dcCoded.has(id)) return `its component ${id} is never coded (file truncated?)`;
  if (frame.components.size === 4 && adobe === null) return 'it has 4 colour components but no Adobe marker saying whether they are CMYK or YCCK';
  // 3 components are YCbCr unless an Adobe marker (without JFIF) says RGB or their ids are 'R', 'G', 'B' (libjpeg's rule)
  const rgbIds = [...frame.components.keys()].join() === [82, 71, 66].join();
  const colorTransform = frame.components.size === 3 && (jfif || (adobe !== null ? adobe !== 0 : !rgbIds));
  return { width: frame.width, height: frame.height, colorTransform };
}

/**
 * Decodes a baseline, extended or progressive 8-bit JPEG (grey, YCbCr, RGB or Adobe CMYK/YCCK) into
 * 8-bit RGBA, as decodePng does: grey is repeated in R, G and B, alpha is 255. The markers are
 * walked here first (see checkStructure) and jpeg-js runs under JPEG_DECODE_LIMITS; every failure is
 * a FormatError naming `source`. EXIF orientation is not applied (as torchvision's ImageFolder).
 */
export function decodeJpeg(bytes: Uint8Array, source = 'buffer'): JpegImage {
  const fail = (why: string): never => {
    throw new FormatError(source, `JPEG: ${source} is not a readable JPEG: ${why}; remove it or re-save it as a baseline JPEG or PNG.`);
  };
  const shape = checkStructure(bytes);
  if (typeof shape === 'string') return fail(shape);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    // jpeg-js applies an Adobe marker's transform code itself (YCbCr, YCCK); colorTransform decides the rest
    img = decode(bytes, { useTArray: true, formatAsRGBA: true, colorTransform: shape.colorTransform, ...JPEG_DECODE_LIMITS });
  } catch (e) {
    return fail(`jpeg-js: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { width, height } = shape;
  if (img.width !== width || img.height !== height || !(img.data instanceof Uint8Array) || img.data.length !== width * height * 4) {
    return fail('jpeg-js decoded a different size than its frame header declares');
  }
  return { width, height, data: img.data };
}
