// Every loader fails with its documented error (FormatError for bytes it cannot read,
// FileAccessError for a path it cannot read), never another exception, never a hang, and never
// allocates beyond what the file can hold. fast-check mutates valid files at random and in the
// header fields that carry sizes, and checks that whatever decodes is consistent with the bytes.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeIdx } from '../src/data/idx';
import { readIdx } from '../src/data/idx-file';
import { IDX_DATASET_MAX_VALUES, loadIdxDataset } from '../src/data/idx-dataset';
import { loadImageFolder } from '../src/data/image-folder';
import { FileAccessError, FormatError } from '../src/errors';
import { decodeJpeg, JPEG_MAX_PIXELS } from '../src/io/jpeg';
import { decodePng, DEFLATE_MAX_RATIO, PNG_MAX_PIXELS } from '../src/io/png';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { loadSafetensors } from '../src/io/safetensors-file';
import { markerAt, sofAt } from './helpers/jpeg';

const RUNS = { numRuns: 400 };
/** A generous bound on one decode of a file of a few kilobytes; a hang or a huge allocation blows it. */
const MAX_MS = 2000;

/** Runs `decode`: either it returns a result that `consistent` accepts, or it throws a FormatError. */
function decodesOrFormatError<T>(decode: () => T, consistent: (r: T) => void): void {
  const start = performance.now();
  let result: T;
  try {
    result = decode();
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`expected a FormatError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expect(e.message.length).toBeGreaterThan(0);
    return;
  } finally {
    expect(performance.now() - start).toBeLessThan(MAX_MS);
  }
  consistent(result);
}

// ---- byte mutations -----------------------------------------------------------------------------

type Mutation =
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'splice'; at: number; remove: number; bytes: Uint8Array };

const position = fc.nat({ max: 1 << 16 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: position, remove: fc.nat({ max: 32 }), bytes: fc.uint8Array({ maxLength: 32 }) }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

function mutate(base: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(base);
  for (const m of ms) {
    const at = b.length ? m.kind === 'append' ? 0 : m.at % (b.length + 1) : 0;
    if (m.kind === 'overwrite') {
      for (let i = 0; i < m.bytes.length && at + i < b.length; i++) b[at + i] = m.bytes[i]!;
    } else if (m.kind === 'flip') {
      if (at < b.length) b[at] ^= 1 << m.bit;
    } else if (m.kind === 'truncate') b = b.slice(0, at);
    else if (m.kind === 'append') b = Uint8Array.from([...b, ...m.bytes]);
    else b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(Math.min(b.length, at + m.remove))]);
  }
  return b;
}

/** JSON values that break size fields: huge, negative, fractional, wrong type. */
const hostileNumber = fc.oneof(
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -1, -0, 0.5, 1.5, -(2 ** 53), 4.000001),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.nat({ max: 4096 }),
);
const hostileJson = fc.oneof(
  hostileNumber,
  fc.constantFrom('1', '', 'F32', null, true, [], {}, [1, 2], { length: 3 }),
  fc.string({ maxLength: 4 }),
  fc.array(hostileNumber, { maxLength: 5 }),
);

// ---- safetensors --------------------------------------------------------------------------------

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
const tensorArb = fc.record({
  dtype: fc.constantFrom('F32' as const, 'F64' as const),
  shape: shapeArb,
});
const safetensorsArb = fc
  .record({
    tensors: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9._]{0,6}$/), tensorArb, { minKeys: 1, maxKeys: 4 }),
    metadata: fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  })
  .map(({ tensors, metadata }) => {
    const records = Object.fromEntries(
      Object.entries(tensors).map(([name, { dtype, shape }]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = dtype === 'F64' ? new Float64Array(n) : new Float32Array(n);
        data.forEach((_, i) => (data[i] = i * 0.25 - 1));
        return [name, { dtype, shape, data }];
      }),
    );
    return encodeSafetensors(records, metadata);
  });

function headerOf(bytes: Uint8Array): { length: number; json: Record<string, unknown> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString()) };
}

/** The bytes of a safetensors file with header `json` (any JSON text) and the data of `base`. */
function withHeader(base: Uint8Array, header: string): Uint8Array {
  const { length } = headerOf(base);
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + base.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(base.subarray(8 + length), 8 + h.length);
  return out;
}

function consistentSafetensors(bytes: Uint8Array) {
  return (file: ReturnType<typeof decodeSafetensors>) => {
    const { length } = headerOf(bytes);
    const dataBytes = bytes.length - 8 - length;
    let elements = 0, spanned = 0;
    for (const r of file.tensors.values()) {
      expect(r.data.length).toBe(r.shape.reduce((a, b) => a * b, 1));
      elements += r.data.length;
      spanned += r.data.length * (r.dtype === 'F64' ? 8 : 4);
    }
    expect(elements).toBeLessThanOrEqual(dataBytes / 2); // F16/BF16 widen 2 bytes into one value
    expect(spanned).toBeLessThanOrEqual(4 * dataBytes);
    for (const v of Object.values(file.metadata)) expect(typeof v).toBe('string');
  };
}

describe('safetensors: malformed bytes throw FormatError, nothing else', () => {
  it('valid files decode to what was encoded', () => {
    fc.assert(
      fc.property(safetensorsArb, (bytes) => {
        const file = decodeSafetensors(bytes);
        consistentSafetensors(bytes)(file);
      }),
      { numRuns: 100 },
    );
  });

  it('random flips, overwrites, truncations, appends and splices', () => {
    fc.assert(
      fc.property(safetensorsArb, mutations, (base, ms) => {
        const bytes = mutate(base, ms);
        decodesOrFormatError(() => decodeSafetensors(bytes, 'fuzz.safetensors'), (f) => {
          // a decodable result of mutated bytes must still be consistent with them
          const n = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
          expect(n <= BigInt(bytes.length - 8)).toBe(true);
          consistentSafetensors(bytes)(f);
        });
      }),
      RUNS,
    );
  });

  it('a header length field set to anything', () => {
    const lengths = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 4096n }), fc.constantFrom(2n ** 53n, 2n ** 63n, 2n ** 64n - 1n));
    fc.assert(
      fc.property(safetensorsArb, lengths, (base, n) => {
        const bytes = Uint8Array.from(base);
        new DataView(bytes.buffer).setBigUint64(0, n, true);
        decodesOrFormatError(() => decodeSafetensors(bytes), consistentSafetensors(bytes));
      }),
      RUNS,
    );
  });

  it('shape, data_offsets and dtype set to huge, negative, fractional or mistyped values', () => {
    const field = fc.constantFrom('shape', 'data_offsets', 'dtype');
    fc.assert(
      fc.property(safetensorsArb, field, fc.nat(), fc.oneof(hostileJson, fc.nat({ max: 3 })), fc.boolean(), (base, key, pick, value, whole) => {
        const { json } = headerOf(base);
        const names = Object.keys(json).filter((k) => k !== '__metadata__');
        const entry = json[names[pick % names.length]!] as Record<string, unknown>;
        const current = entry[key];
        if (!whole && Array.isArray(current) && current.length) current[pick % current.length] = value;
        else entry[key] = value;
        const bytes = withHeader(base, JSON.stringify(json));
        decodesOrFormatError(() => decodeSafetensors(bytes), consistentSafetensors(bytes));
      }),
      RUNS,
    );
  });

  it('headers that are not an object of tensor objects: null, numbers, arrays, __proto__ keys, any JSON', () => {
    const header = fc.oneof(
      fc.constantFrom('null', '1', '"x"', '[]', '[1,2]', 'true', '{"a":null}', '{"a":1}', '{"a":[]}', '{"a":"F32"}', '{"__metadata__":[]}', '{"__metadata__":"x"}',
        '{"__metadata__":{"k":1}}', '{"__proto__":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}', '{"__metadata__":{"__proto__":"x"}}',
        '{"a":{"dtype":"toString","shape":[1],"data_offsets":[0,4]}}', '{"a":{"dtype":"constructor","shape":[],"data_offsets":[0,0]}}',
        '{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296,0],"data_offsets":[0,0]}}',
        '{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}',
        '{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,1e300]}}', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}'),
      fc.json({ maxDepth: 3 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ a: v })),
    );
    fc.assert(
      fc.property(safetensorsArb, header, (base, h) => {
        const bytes = withHeader(base, h);
        decodesOrFormatError(() => decodeSafetensors(bytes), consistentSafetensors(bytes));
      }),
      RUNS,
    );
  });

  it('names the file and the problem; an unreadable path is a FileAccessError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-fuzz-'));
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(() => decodeSafetensors(big, 'x.safetensors')).toThrow(FormatError);
    expect(() => decodeSafetensors(big, 'x.safetensors')).toThrow(/x\.safetensors is not a valid safetensors file: the header claims 18446744073709551615 bytes but only 8 follow/);
    const base = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
    const huge = withHeader(base, JSON.stringify({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }));
    expect(() => decodeSafetensors(huge, 'y')).toThrow(/tensor 'w' spans 8 bytes but shape \[1099511627776, 1099511627776\] of F32 needs 4835703278458516698824704/);
    for (const h of ['null', '[]', '3', '{"w":7}']) expect(() => decodeSafetensors(withHeader(base, h), 'z')).toThrow(FormatError);
    expect(() => loadSafetensors(join(dir, 'missing.safetensors'))).toThrow(FileAccessError);
    expect(() => loadSafetensors(dir)).toThrow(/cannot read .*: it is a folder, not a file/);
    writeFileSync(join(dir, 'bad.safetensors'), Uint8Array.from([1, 2, 3]));
    const err = (() => {
      try {
        loadSafetensors(join(dir, 'bad.safetensors'));
      } catch (e) {
        return e;
      }
    })() as FormatError;
    expect(err).toBeInstanceOf(FormatError);
    expect(err.source).toBe('bad.safetensors');
  });
});

// ---- IDX ----------------------------------------------------------------------------------------

function idx(shape: number[], values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length);
  out.set([0, 0, 8, shape.length]);
  const dv = new DataView(out.buffer);
  shape.forEach((s, i) => dv.setUint32(4 + 4 * i, s, false));
  out.set(Array.from(values), 4 + 4 * shape.length);
  return out;
}

const idxArb = fc
  .tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))
  .chain((shape) => fc.uint8Array({ minLength: shape[0] * shape[1] * shape[2], maxLength: shape[0] * shape[1] * shape[2] }).map((v) => idx(shape, v)));

function consistentIdx(bytes: Uint8Array) {
  return (a: ReturnType<typeof decodeIdx>) => {
    expect(a.data.length).toBe(bytes.length - 4 - 4 * a.shape.length);
    expect(a.shape.reduce((x, y) => x * y, 1)).toBe(a.data.length);
  };
}

describe('IDX: malformed bytes throw FormatError, nothing else', () => {
  it('random flips, overwrites, truncations, appends and splices', () => {
    fc.assert(
      fc.property(idxArb, mutations, (base, ms) => {
        const bytes = mutate(base, ms);
        decodesOrFormatError(() => decodeIdx(bytes, 'fuzz-idx3-ubyte'), consistentIdx(bytes));
      }),
      RUNS,
    );
  });

  it('dimension words, rank and type set to anything', () => {
    fc.assert(
      fc.property(idxArb, fc.nat({ max: 3 }), fc.oneof(fc.nat({ max: 0xffffffff }), fc.nat({ max: 64 }), fc.constantFrom(0, 1, 0xffffffff, 0x80000000, 65536)), fc.oneof(fc.nat({ max: 255 }), fc.integer({ min: 1, max: 4 })), fc.boolean(), (base, d, word, rank, setRank) => {
        const bytes = Uint8Array.from(base);
        if (setRank) bytes[3] = rank;
        else if (4 + 4 * d + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(4 + 4 * d, word, false);
        decodesOrFormatError(() => decodeIdx(bytes), consistentIdx(bytes));
      }),
      RUNS,
    );
  });

  it('four 32-bit sizes whose product overflows never match by rounding', () => {
    const bytes = idx([0x10000, 0x10000, 0x10000, 0x10000], []);
    expect(() => decodeIdx(bytes, 'o')).toThrow(/promises 18446744073709551616 values/);
  });

  it('an unreadable path is a FileAccessError naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-fuzz-'));
    expect(() => readIdx(join(dir, 'nope-idx3-ubyte'))).toThrow(FileAccessError);
    expect(() => readIdx(join(dir, 'nope-idx3-ubyte'))).toThrow(/IDX: cannot read .*nope-idx3-ubyte: no such file; check the path/);
  });
});

// ---- PNG ----------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Recomputes every chunk's CRC (as far as the chunk lengths allow), so the mutation reaches pngjs's decoder. */
function fixCrcs(bytes: Uint8Array): Uint8Array {
  const b = Uint8Array.from(bytes);
  const dv = new DataView(b.buffer);
  let pos = 8;
  while (pos + 12 <= b.length) {
    const length = dv.getUint32(pos, false);
    if (pos + 12 + length > b.length) break;
    dv.setUint32(pos + 8 + length, crc32(b.subarray(pos + 4, pos + 8 + length)), false);
    pos += 12 + length;
  }
  return b;
}

const pngArb = fc
  .record({
    width: fc.integer({ min: 1, max: 12 }),
    height: fc.integer({ min: 1, max: 12 }),
    colorType: fc.constantFrom(0, 6),
    seed: fc.nat(),
  })
  .map(({ width, height, colorType, seed }) => {
    const png = new PNG({ width, height });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (seed + i * 37) & 0xff;
    return Uint8Array.from(PNG.sync.write(png, { colorType }));
  });

function consistentPng(bytes: Uint8Array) {
  return (img: ReturnType<typeof decodePng>) => {
    expect(img.width).toBeGreaterThan(0);
    expect(img.height).toBeGreaterThan(0);
    expect(img.width * img.height).toBeLessThanOrEqual(PNG_MAX_PIXELS);
    // 8-bit grey (the densest of these files) packs one byte per pixel into the deflate stream
    expect(img.width * img.height).toBeLessThanOrEqual(8 * DEFLATE_MAX_RATIO * bytes.length);
    expect(img.data.length).toBe(4 * img.width * img.height);
  };
}

describe('PNG: malformed bytes throw FormatError, nothing else', () => {
  it('valid grey and RGBA images decode to their size', () => {
    fc.assert(
      fc.property(pngArb, (bytes) => {
        const img = decodePng(bytes);
        consistentPng(bytes)(img);
      }),
      { numRuns: 50 },
    );
  });

  it('random flips, overwrites, truncations, appends and splices, with and without fixed CRCs', () => {
    fc.assert(
      fc.property(pngArb, mutations, fc.boolean(), (base, ms, fix) => {
        const mutated = mutate(base, ms);
        const bytes = fix ? fixCrcs(mutated) : mutated;
        decodesOrFormatError(() => decodePng(bytes, 'fuzz.png'), consistentPng(bytes));
      }),
      RUNS,
    );
  });

  it('IHDR fields set to anything (sizes up to 2^32 - 1, depth, colour type, interlace)', () => {
    const word = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 64 }), weight: 3 },
      { arbitrary: fc.nat({ max: 0xffffffff }), weight: 1 },
      { arbitrary: fc.constantFrom(0, 1, 8192, 8193, 0x7fffffff, 0x80000000, 0xffffffff), weight: 1 },
    );
    // depth, colour type, compression, filter, interlace: mostly left as they are, so sizes reach pngjs
    const rest = fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      { arbitrary: fc.tuple(fc.constantFrom(1, 2, 4, 8, 16), fc.constantFrom(0, 2, 3, 4, 6), fc.constant(0), fc.constant(0), fc.nat({ max: 1 })).map((t) => Uint8Array.from(t)), weight: 2 },
      { arbitrary: fc.uint8Array({ minLength: 5, maxLength: 5 }), weight: 1 },
    );
    fc.assert(
      fc.property(pngArb, word, word, rest, fc.boolean(), (base, w, h, rest, fix) => {
        const b = Uint8Array.from(base);
        const dv = new DataView(b.buffer);
        dv.setUint32(16, w, false); // IHDR data starts at 8 (signature) + 8 (length, type)
        dv.setUint32(20, h, false);
        if (rest) b.set(rest, 24);
        const bytes = fix ? fixCrcs(b) : b;
        decodesOrFormatError(() => decodePng(bytes, 'ihdr.png'), consistentPng(bytes));
      }),
      RUNS,
    );
  });

  it('refuses sizes beyond the caps before decoding, naming the file', () => {
    const base = Uint8Array.from(PNG.sync.write(new PNG({ width: 4, height: 4 })));
    const sized = (w: number, h: number) => {
      const b = Uint8Array.from(base);
      new DataView(b.buffer).setUint32(16, w, false);
      new DataView(b.buffer).setUint32(20, h, false);
      return fixCrcs(b);
    };
    expect(() => decodePng(sized(8193, 8192), 'big.png')).toThrow(/big\.png is not a readable PNG: it is 8193x8192 pixels, more than the 67108864 \(2\^26\) onestep reads; scale it down/);
    expect(() => decodePng(sized(4000, 4000), 'bomb.png')).toThrow(/bomb\.png is not a readable PNG: its 4000x4000 pixels need 64000000 bytes but its \d+ bytes of compressed data can hold at most \d+/);
    expect(() => decodePng(Uint8Array.from(Buffer.from('not a png')), 'x.png')).toThrow(/x\.png is not a readable PNG: it does not start with the PNG signature; remove it or re-save it as PNG/);
    expect(() => decodePng(base.subarray(0, base.length - 3), 't.png')).toThrow(FormatError);
  });
});

// ---- JPEG ---------------------------------------------------------------------------------------

/** cjpeg's files (test/fixtures/jpeg: grey, 4:2:0, progressive, restart markers) beside jpeg-js's own (4:4:4 baseline). */
const JPEG_FIXTURES = readdirSync(new URL('./fixtures/jpeg/', import.meta.url))
  .filter((f) => f.endsWith('.jpg') && f !== 'arithmetic.jpg')
  .map((f) => new Uint8Array(readFileSync(new URL(`./fixtures/jpeg/${f}`, import.meta.url))));
/** jpeg-js's encoder builds its tables on each call (about 10 ms), so its files are made once: sizes 1-24, grey and colour, qualities 1-100. */
const JPEG_ENCODED = Array.from({ length: 24 }, (_, k) => {
  const width = 1 + ((k * 7) % 24), height = 1 + ((k * 11) % 24), quality = 1 + ((k * 37) % 100), grey = k % 3 === 0;
  const data = new Uint8Array(4 * width * height);
  for (let i = 0; i < data.length; i++) data[i] = grey ? (k + (i >> 2) * 37) & 0xff : (k + i * 37) & 0xff;
  return new Uint8Array(encodeJpeg({ width, height, data }, quality).data);
});
const jpegArb = fc.constantFrom(...JPEG_FIXTURES, ...JPEG_ENCODED);

function consistentJpeg(bytes: Uint8Array) {
  return (img: ReturnType<typeof decodeJpeg>) => {
    expect(img.width).toBeGreaterThan(0);
    expect(img.height).toBeGreaterThan(0);
    expect(img.width * img.height).toBeLessThanOrEqual(JPEG_MAX_PIXELS);
    // every component is coded in at least a bit per MCU, which covers at most 32x32 pixels
    expect(Math.ceil(img.width / 32) * Math.ceil(img.height / 32)).toBeLessThanOrEqual(8 * bytes.length);
    expect(img.data.length).toBe(4 * img.width * img.height);
    expect(img.data.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
  };
}

describe('JPEG: malformed bytes throw FormatError, nothing else', () => {
  it('valid grey and colour images, baseline and progressive, decode to their size', () => {
    fc.assert(
      fc.property(jpegArb, (bytes) => {
        consistentJpeg(bytes)(decodeJpeg(bytes));
      }),
      { numRuns: 50 },
    );
  });

  it('random flips, overwrites, truncations, appends and splices', () => {
    fc.assert(
      fc.property(jpegArb, mutations, (base, ms) => {
        const bytes = mutate(base, ms);
        decodesOrFormatError(() => decodeJpeg(bytes, 'fuzz.jpg'), consistentJpeg(bytes));
      }),
      RUNS,
    );
  });

  it('flips and overwrites inside the first scan’s entropy-coded data, where jpeg-js decodes bits', () => {
    const change = fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.boolean());
    fc.assert(
      fc.property(jpegArb, fc.array(change, { minLength: 1, maxLength: 6 }), (base, changes) => {
        const bytes = Uint8Array.from(base);
        const sos = markerAt(bytes, 0xda), start = sos + 2 + ((bytes[sos + 2]! << 8) | bytes[sos + 3]!);
        for (const [at, value, flip] of changes) {
          const i = start + (at % (bytes.length - 2 - start));
          bytes[i] = flip ? bytes[i]! ^ (1 << (value & 7)) : value;
        }
        decodesOrFormatError(() => decodeJpeg(bytes, 'scan.jpg'), consistentJpeg(bytes));
      }),
      RUNS,
    );
  });

  it('frame sizes (up to 65535 x 65535), and any byte of the frame, table and scan headers, set to anything', () => {
    const word = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 64 }), weight: 3 },
      { arbitrary: fc.nat({ max: 0xffff }), weight: 1 },
      { arbitrary: fc.constantFrom(0, 1, 8192, 8193, 0x7fff, 0x8000, 0xffff), weight: 1 },
    );
    const poke = fc.tuple(fc.constantFrom(0xc0, 0xc2, 0xc4, 0xdb, 0xda, 0xdd), fc.nat(), fc.nat({ max: 255 }));
    fc.assert(
      fc.property(jpegArb, word, word, fc.array(poke, { maxLength: 3 }), (base, w, h, pokes) => {
        const bytes = Uint8Array.from(base);
        const sof = sofAt(bytes);
        new DataView(bytes.buffer).setUint16(sof + 5, h, false);
        new DataView(bytes.buffer).setUint16(sof + 7, w, false);
        for (const [m, at, value] of pokes) {
          let pos: number;
          try {
            pos = markerAt(bytes, m);
          } catch {
            continue; // no such segment (DRI, or a SOF of the other kind)
          }
          const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
          if (length > 2 && pos + 2 + length <= bytes.length) bytes[pos + 4 + (at % (length - 2))] = value;
        }
        decodesOrFormatError(() => decodeJpeg(bytes, 'sof.jpg'), consistentJpeg(bytes));
      }),
      RUNS,
    );
  });
});

// ---- image folders --------------------------------------------------------------------------------

describe('image folder: every problem is named with its file and fix', () => {
  const png = (w: number, h: number, grey: number) => {
    const p = new PNG({ width: w, height: h });
    for (let i = 0; i < w * h; i++) p.data.set([grey, grey, grey, 255], 4 * i);
    return PNG.sync.write(p);
  };
  const folder = () => mkdtempSync(join(tmpdir(), 'onestep-folder-'));

  it('a corrupt PNG', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.png'), png(4, 4, 0));
    const good = png(4, 4, 255);
    writeFileSync(join(dir, 'b.png'), good.subarray(0, good.length - 20));
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(FormatError);
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(/b\.png is not a readable PNG: .*; remove it or re-save it as PNG/);
  });

  it('a truncated or oversize JPEG, named with its file', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.png'), png(4, 4, 0));
    const good = new Uint8Array(readFileSync(new URL('./fixtures/jpeg/progressive420.jpg', import.meta.url)));
    writeFileSync(join(dir, 'b.JPG'), good.subarray(0, good.length - 20));
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(FormatError);
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(/b\.JPG is not a readable JPEG: .*\(file truncated\?\); remove it or re-save it as a baseline JPEG or PNG/);
    const big = Uint8Array.from(good);
    const sof = sofAt(big);
    new DataView(big.buffer).setUint16(sof + 5, 9000, false);
    new DataView(big.buffer).setUint16(sof + 7, 9000, false);
    writeFileSync(join(dir, 'b.JPG'), big);
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(/b\.JPG is not a readable JPEG: it is 9000x9000 pixels, more than the 67108864 \(2\^26\) onestep reads/);
  });

  it('a file that is not a PNG, and a subfolder', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.png'), png(4, 4, 0));
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(FormatError);
    expect(() => loadImageFolder(dir, { size: 4 })).toThrow(/notes\.txt is not a \.png, \.jpg or \.jpeg file; onestep reads PNG and JPEG images: remove it or convert it/);
    const sub = folder();
    writeFileSync(join(sub, 'a.png'), png(4, 4, 0));
    mkdirSync(join(sub, 'more'));
    expect(() => loadImageFolder(sub, { size: 4 })).toThrow(/holds both files \(a\.png\) and subfolders \(more\); use one layout/);
  });

  it('one subfolder per class: labels by class name order, class names kept', () => {
    const dir = folder();
    for (const [name, shades] of [['cat', [10, 20]], ['ant', [200]], ['dog', [90, 100, 110]]] as const) {
      mkdirSync(join(dir, name));
      shades.forEach((v, i) => writeFileSync(join(dir, name, `${i}.png`), png(2, 2, v)));
    }
    writeFileSync(join(dir, '.DS_Store'), 'junk');
    const ds = loadImageFolder(dir, { size: 2 });
    expect(ds.classNames).toEqual(['ant', 'cat', 'dog']);
    expect(Array.from(ds.labels!)).toEqual([0, 1, 1, 2, 2, 2]);
    expect(Array.from({ length: 6 }, (_, i) => Math.round(((ds.images[i * 4]! + 1) / 2) * 255))).toEqual([200, 10, 20, 90, 100, 110]);
    mkdirSync(join(dir, 'eel'));
    expect(() => loadImageFolder(dir, { size: 2 })).toThrow(/the class folder .*eel holds no \.png, \.jpg or \.jpeg files; add its images or remove it/);
    mkdirSync(join(dir, 'eel', 'deeper'));
    expect(() => loadImageFolder(dir, { size: 2 })).toThrow(/deeper is a folder inside the class folder .*eel; put the class's PNG or JPEG images directly in it/);
  });

  it('hidden files are skipped', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.png'), png(2, 2, 255));
    writeFileSync(join(dir, '.DS_Store'), 'junk');
    mkdirSync(join(dir, '.thumbnails'));
    const ds = loadImageFolder(dir, { size: 2 });
    expect(ds.count).toBe(1);
    const white = 2 * (0.2989 + 0.587 + 0.114) - 1;
    for (const v of ds.images) expect(v).toBeCloseTo(white, 5);
  });

  it('an empty folder, a missing one, and a file passed as the folder', () => {
    const dir = folder();
    expect(() => loadImageFolder(dir)).toThrow(FormatError);
    expect(() => loadImageFolder(dir)).toThrow(/holds no \.png, \.jpg or \.jpeg files; put the training images there as PNG or JPEG/);
    writeFileSync(join(dir, '.hidden.png'), png(2, 2, 0));
    expect(() => loadImageFolder(dir)).toThrow(/holds no \.png, \.jpg or \.jpeg files/);
    expect(() => loadImageFolder(join(dir, 'nope'))).toThrow(FileAccessError);
    expect(() => loadImageFolder(join(dir, 'nope'))).toThrow(/cannot read .*nope: no such folder; check the path/);
    expect(() => loadImageFolder(join(dir, '.hidden.png'))).toThrow(FileAccessError);
    expect(() => loadImageFolder(join(dir, '.hidden.png'))).toThrow(/it is a file, not a folder; pass the folder that holds the files/);
  });
});

// ---- IDX datasets ---------------------------------------------------------------------------------

describe('loadIdxDataset: a user’s own MNIST-like IDX file', () => {
  const folder = () => mkdtempSync(join(tmpdir(), 'onestep-idxds-'));

  it('28x28 images are padded by 2 to 32x32 and scaled to [-1, 1], with their labels', () => {
    const dir = folder();
    const pixels = Uint8Array.from({ length: 3 * 28 * 28 }, (_, i) => (i * 7) & 0xff);
    writeFileSync(join(dir, 'imgs'), idx([3, 28, 28], pixels));
    writeFileSync(join(dir, 'labels'), idx([3], [4, 1, 9]));
    const ds = loadIdxDataset(join(dir, 'imgs'), { labels: join(dir, 'labels') });
    expect([ds.name, ds.count, ds.channels, ds.height, ds.width]).toEqual([`idx:${join(dir, 'imgs')}`, 3, 1, 32, 32]);
    expect(Array.from(ds.labels!)).toEqual([4, 1, 9]);
    for (let n = 0; n < 3; n++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const v = ds.images[(n * 32 + y) * 32 + x]!;
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          expect(v).toBeCloseTo(inside ? pixels[(n * 28 + y - 2) * 28 + x - 2]! / 127.5 - 1 : -1, 5);
        }
      }
    }
  });

  it('other sizes are area-resampled; no labels file means no labels', () => {
    const dir = folder();
    // one 4x4 image: quadrants 0, 255, 255, 0 -> 2x2 at size 2
    const px = Array.from({ length: 16 }, (_, i) => ((i % 4 < 2) !== (i < 8) ? 255 : 0));
    writeFileSync(join(dir, 'imgs'), idx([1, 4, 4], px));
    const ds = loadIdxDataset(join(dir, 'imgs'), { size: 2 });
    expect(ds.labels).toBeNull();
    expect(Array.from(ds.images)).toEqual([-1, 1, 1, -1]);
  });

  it('refuses wrong magic, wrong rank, wrong size and a labels count that does not match', () => {
    const dir = folder();
    writeFileSync(join(dir, 'imgs'), idx([2, 3, 3], new Array(18).fill(0)));
    writeFileSync(join(dir, 'labels'), idx([3], [0, 1, 2]));
    writeFileSync(join(dir, 'gz'), Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    writeFileSync(join(dir, 'short'), idx([2, 3, 3], new Array(17).fill(0)));
    const refuses = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(FormatError);
      expect(f).toThrow(re);
    };
    refuses(() => loadIdxDataset(join(dir, 'imgs'), { labels: join(dir, 'labels') }), /IDX: labels has shape \[3\] but imgs holds 2 images; a labels file is shaped \[2\]/);
    refuses(() => loadIdxDataset(join(dir, 'labels')), /IDX: labels has shape \[3\]; an images file is shaped \[count, rows, cols\]/);
    refuses(() => loadIdxDataset(join(dir, 'gz')), /gz is not a valid IDX file: its first two bytes are not zero/);
    refuses(() => loadIdxDataset(join(dir, 'short')), /short is not a valid IDX file: its header promises 18 values/);
    writeFileSync(join(dir, 'tiny'), idx([IDX_DATASET_MAX_VALUES / 1024 + 1, 1, 1], new Array(IDX_DATASET_MAX_VALUES / 1024 + 1).fill(0)));
    refuses(() => loadIdxDataset(join(dir, 'tiny')), /more than the 268435456 \(1 GiB\) onestep loads at once; use a smaller size or split the file/);
    expect(() => loadIdxDataset(join(dir, 'missing'))).toThrow(FileAccessError);
  });
});
