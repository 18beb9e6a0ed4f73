// decodeJpeg: JPEG files as photographs come (made by libjpeg's cjpeg: test/fixtures/jpeg, and by
// jpeg-js's encoder) decode to RGBA as decodePng's; whatever onestep does not read, a truncated file
// and one beyond the size cap are FormatErrors naming the file. The fuzzing is in fuzz-loaders.test.ts.
import { readFileSync } from 'node:fs';
import { decode, encode } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors';
import { decodeJpeg, JPEG_DECODE_LIMITS, JPEG_MAX_PIXELS } from '../src/io/jpeg';
import { PNG_MAX_PIXELS } from '../src/io/png';
import { flatJpeg, markerAt } from './helpers/jpeg';

const FIXTURES = new URL('./fixtures/jpeg/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
/** The pattern every fixture encodes (make_fixtures.py's pattern()). */
const W = 21, H = 13;
const pattern = (x: number, y: number) => [(x * 12) & 255, (y * 19) & 255, ((x + y) * 7) & 255] as const;

/** The error `f` throws (a test failure if it throws none). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('decodeJpeg: what photographs come as', () => {
  const files = ['grey', 'grey-progressive', 'ycc444', 'ycc420', 'rgb', 'progressive444', 'progressive420', 'restart', 'progressive420-restart'];

  it.each(files)('%s.jpg decodes to RGBA within 2 levels of libjpeg', (name) => {
    const img = decodeJpeg(fixture(`${name}.jpg`), `${name}.jpg`);
    expect([img.width, img.height, img.data.length]).toEqual([W, H, 4 * W * H]);
    // libjpeg (djpeg -nosmooth) and jpeg-js round their integer inverse DCTs differently: 2 levels at most here
    const ref = fixture(`${name}.pnm`), grey = name.startsWith('grey');
    const start = ref.length - W * H * (grey ? 1 : 3);
    let worst = 0;
    for (let i = 0; i < W * H; i++) {
      expect(img.data[4 * i + 3]).toBe(255);
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(img.data[4 * i + c]! - ref[start + (grey ? i : 3 * i + c)]!));
    }
    expect(worst).toBeLessThanOrEqual(2);
    // grey is repeated in R, G, B; at quality 100 without chroma subsampling the pattern itself comes back within 3
    if (grey) for (let i = 0; i < W * H; i++) expect(new Set(img.data.subarray(4 * i, 4 * i + 3)).size).toBe(1);
    if (!name.includes('420')) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const p = pattern(x, y);
          for (let c = 0; c < 3; c++) expect(Math.abs(img.data[4 * (y * W + x) + c]! - p[grey ? 0 : c]!)).toBeLessThanOrEqual(3);
        }
      }
    }
  });

  it('jpeg-js-encoded grey and RGB images come back as jpeg-js decodes them, within 3 levels of the original at quality 100', () => {
    for (const grey of [false, true]) {
      const w = 19, h = 11, data = new Uint8Array(4 * w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(grey ? [x * 13, x * 13, x * 13, 255] : [x * 13, y * 23, (x * y * 5) & 255, 255], 4 * (y * w + x));
      const bytes = new Uint8Array(encode({ width: w, height: h, data }, 100).data);
      const img = decodeJpeg(bytes, 'enc.jpg');
      expect(img.data).toEqual(decode(bytes, { useTArray: true }).data);
      // quality 100 quantizes by 1: what is lost is the rounding of the DCT and of the YCbCr conversion
      for (let i = 0; i < data.length; i++) expect(Math.abs(img.data[i]! - data[i]!)).toBeLessThanOrEqual(3);
    }
  });

  it('CMYK with an Adobe marker decodes (ink inverted, as Adobe writes it); 4 components without one are refused', () => {
    // Adobe CMYK stores 255 - ink: (255, 255, 255, 255) is no ink, white; K at full (255, 255, 255, 0) is black; cyan only is (0, 255, 255, 255)
    const levels = [[255, 255, 0], [255, 255, 255], [255, 255, 255], [255, 0, 255]];
    const img = decodeJpeg(flatJpeg(levels, 3, 1, 0), 'cmyk.jpg');
    const px = (b: number) => Array.from(img.data.subarray(4 * (4 * 24 + 8 * b + 4), 4 * (4 * 24 + 8 * b + 4) + 4)); // row 4, column 8b + 4 of 24
    for (const [b, rgba] of [[0, [255, 255, 255, 255]], [1, [0, 0, 0, 255]], [2, [0, 255, 255, 255]]] as const) {
      px(b).forEach((v, c) => expect(Math.abs(v - rgba[c]!)).toBeLessThanOrEqual(1));
    }
    expect(() => decodeJpeg(flatJpeg(levels, 3, 1), 'cmyk.jpg')).toThrow(/cmyk\.jpg is not a readable JPEG: it has 4 colour components but no Adobe marker saying whether they are CMYK or YCCK/);
    expect(() => decodeJpeg(flatJpeg([[1], [2]], 1, 1), 'two.jpg')).toThrow(/two\.jpg is not a readable JPEG: it has 2 colour components; onestep reads 1 \(grey\), 3 \(colour\) or 4 \(CMYK\)/);
    // one component, exact levels: the flat blocks come back as written
    const grey = decodeJpeg(flatJpeg([[0, 77, 255]], 3, 1), 'g.jpg');
    expect([0, 8, 16].map((x) => grey.data[4 * (3 * 24 + x)])).toEqual([0, 77, 255]);
  });

  it('a truncated file, at any length, is a FormatError naming the file', () => {
    for (const name of ['ycc420.jpg', 'progressive420.jpg']) {
      const bytes = fixture(name);
      for (let n = 0; n < bytes.length; n++) {
        const e = thrown(() => decodeJpeg(bytes.subarray(0, n), name));
        expect(e).toBeInstanceOf(FormatError);
        expect((e as FormatError).source).toBe(name);
        expect(e.message).toMatch(n < 2 ? /is not a readable JPEG: it does not start with the JPEG SOI marker/ : new RegExp(`^JPEG: ${name.replace('.', '\\.')} is not a readable JPEG: .*\\(file truncated\\?\\); remove it or re-save it as a baseline JPEG or PNG\\.$`));
      }
      // cut inside the (one, baseline) scan, with the EOI put back: jpeg-js meets the marker before the scan's last block
      for (const keep of name === 'ycc420.jpg' ? [0.3, 0.6, 0.9] : []) {
        const sos = markerAt(bytes, 0xda), cut = Math.round(sos + 20 + keep * (bytes.length - sos - 22));
        const bad = Uint8Array.from([...bytes.subarray(0, cut), 0xff, 0xd9]);
        expect(() => decodeJpeg(bad, 'cut.jpg')).toThrow(FormatError);
        expect(() => decodeJpeg(bad, 'cut.jpg')).toThrow(/cut\.jpg is not a readable JPEG: /);
      }
    }
  });

  it('refuses sizes beyond the cap before decoding, and jpeg-js itself is held to the same cap', () => {
    expect(JPEG_MAX_PIXELS).toBe(PNG_MAX_PIXELS);
    expect(JPEG_DECODE_LIMITS.maxResolutionInMP * 1e6).toBe(JPEG_MAX_PIXELS);
    const base = fixture('ycc444.jpg'), sof = markerAt(base, 0xc0);
    const sized = (w: number, h: number) => {
      const b = Uint8Array.from(base);
      new DataView(b.buffer).setUint16(sof + 5, h, false);
      new DataView(b.buffer).setUint16(sof + 7, w, false);
      return b;
    };
    expect(() => decodeJpeg(sized(8193, 8192), 'big.jpg')).toThrow(/^JPEG: big\.jpg is not a readable JPEG: it is 8193x8192 pixels, more than the 67108864 \(2\^26\) onestep reads; scale it down/);
    expect(() => decodeJpeg(sized(65535, 65535), 'big.jpg')).toThrow(/it is 65535x65535 pixels, more than/);
    // at the cap, a header whose scan is far too short to code its blocks is refused before jpeg-js allocates them
    expect(() => decodeJpeg(sized(8192, 8192), 'bomb.jpg')).toThrow(/bomb\.jpg is not a readable JPEG: its scan codes 3145728 blocks of 8x8 pixels in \d+ bytes, less than a bit per block/);
    // jpeg-js's own limit, which decodeJpeg passes to it, refuses the same size
    expect(() => decode(sized(8193, 8192), { useTArray: true, ...JPEG_DECODE_LIMITS })).toThrow(/maxResolutionInMP limit exceeded/);
  });

  it('names what it does not read: arithmetic coding, 12-bit samples, a DNL height, not a JPEG at all', () => {
    const refuses = (bytes: Uint8Array, re: RegExp) => {
      const e = thrown(() => decodeJpeg(bytes, 'x.jpg'));
      expect(e).toBeInstanceOf(FormatError);
      expect(e.message).toMatch(re);
    };
    refuses(fixture('arithmetic.jpg'), /x\.jpg is not a readable JPEG: it is a lossless, hierarchical or arithmetic-coded JPEG \(marker FFC9\), which onestep does not read; remove it or re-save it as a baseline JPEG or PNG\./);
    const base = fixture('ycc444.jpg'), sof = markerAt(base, 0xc0);
    const set = (at: number, ...v: number[]) => {
      const b = Uint8Array.from(base);
      b.set(v, at);
      return b;
    };
    refuses(set(sof + 4, 12), /its samples have 12 bits; onestep reads 8-bit JPEGs/);
    refuses(set(sof + 5, 0, 0), /its height is 0 \(to be set by a later DNL marker\)/);
    refuses(set(markerAt(base, 0xda) + 5, 9), /its scan names component 9, which its frame does not have/);
    refuses(Uint8Array.from(Buffer.from('\x89PNG\r\n\x1a\n')), /x\.jpg is not a readable JPEG: it does not start with the JPEG SOI marker \(FF D8\)/);
    refuses(set(2, 0x12), /byte 2 is 0x12 where a marker should start/);
  });
});
