import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime } from '../kernels/cpu/wasm/runtime';
import { buildWeb } from '../examples/web/build';
import { serveDemo } from '../examples/web/serve';
import { cm, Generator, loadTorchStateDict, saveSafetensors, SimpleUNet, withBackend } from '../src/index';
import { launchChromium } from './browser/chromium';

// The engine bundle and the demo page in a real Chromium (test/browser/chromium.ts; the tests fail
// with the install command where it is missing). Samples for a seed must equal Node's: bit for bit
// on cpu with the same thread count, to float32 tolerance on webgpu (SwiftShader).

/** What the demo page exposes (examples/web/demo.ts), as page.evaluate's callbacks see it. */
interface Demo {
  errors: string[];
  started: { backend: string; threads: number; adapter: string | null };
  samples: { seed: number; label: number | null; images: Float32Array };
  lastEdit: { image: Float32Array; known: Float32Array; result: Float32Array } | null;
}
// The page's globals in page.evaluate's callbacks (this file is compiled without the DOM library).
declare const window: { demo?: Demo };
declare const document: { body: { dataset: Record<string, string | undefined> } };

const MODEL = 'examples/checkpoints/mnist-simpleunet-d32.safetensors';
const SHOTS = 'runs/browser-test';
const SEED = 5;

let browser: Browser;
let url: string;
let server: Server;

beforeAll(async () => {
  await buildWeb();
  ({ url, server } = await serveDemo(0));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/** Node's 16 one-step samples of a model (default: the committed one) for `seed`, on the cpu backend. */
function nodeSamples(seed: number, model = MODEL, label?: number): Float32Array {
  return withBackend('cpu', () => {
    const { f, shape } = cm.loadConsistencyModel(model);
    const images = cm.sample(f, { count: 16, shape, generator: new Generator(seed), labels: label === undefined ? undefined : Array(16).fill(label) });
    return images.toArray() as Float32Array;
  });
}

interface PageRun {
  page: Page;
  /** Console errors and uncaught exceptions of the page and its workers. */
  problems: string[];
}

async function openDemo(query: string, timeout: number, at = url): Promise<PageRun> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  await page.goto(`${at}?${query}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1' || window.demo?.errors.length, null, { timeout });
  problems.push(...(await page.evaluate(() => window.demo!.errors)));
  return { page, problems };
}

const pageSamples = (page: Page): Promise<{ seed: number; label: number | null; images: number[] }> =>
  page.evaluate(() => {
    const s = window.demo!.samples;
    return { seed: s.seed, label: s.label, images: Array.from(s.images) };
  });

describe('in Chromium', () => {
  it('the engine bundle loads as an ES module and exports the API', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    // as text: vitest rewrites a dynamic import() inside a function it compiles
    const names = await page.evaluate<string[]>("import('/dist/onestep.js').then((m) => Object.keys(m))");
    expect(names).toEqual(expect.arrayContaining(['init', 'Tensor', 'tensor', 'cm', 'data', 'decodeSafetensors', 'imageGrid', 'imageFromRgba', 'SimpleUNet']));
    expect(names).not.toContain('saveSafetensors');
    await page.close();
  }, 60_000);

  it('cpu: the page gets ready without errors and its samples equal Node\'s bit for bit', async () => {
    const threads = getRuntime().threads;
    const { page, problems } = await openDemo(`seed=${SEED}&backend=cpu&threads=${threads}`, 60_000);
    expect(problems).toEqual([]);
    const started = await page.evaluate(() => window.demo!.started);
    expect(started).toMatchObject({ backend: 'cpu', threads });
    const { seed, images } = await pageSamples(page);
    expect(seed).toBe(SEED);
    const expected = nodeSamples(SEED);
    expect(images.length).toBe(expected.length);
    const differing = images.filter((v, i) => !Object.is(v, expected[i])).length;
    expect(differing).toBe(0);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/demo-cpu.png`, fullPage: true });
    expect(readFileSync(`${SHOTS}/demo-cpu.png`).subarray(1, 4).toString()).toBe('PNG');
    await page.close();
  }, 120_000);

  it('cpu: inpainting keeps the pixels drawn with the mouse and fills the rest', async () => {
    const { page, problems } = await openDemo(`seed=${SEED}&backend=cpu`, 60_000);
    await page.click('#clear');
    const box = (await page.locator('#draw').boundingBox())!;
    // a vertical stroke down the middle, in canvas pixels 16 and 4 .. 27
    await page.mouse.move(box.x + box.width * (16.5 / 32), box.y + box.height * (4.5 / 32));
    await page.mouse.down();
    for (let y = 5; y <= 27; y += 2) await page.mouse.move(box.x + box.width * (16.5 / 32), box.y + box.height * ((y + 0.5) / 32), { steps: 2 });
    await page.mouse.up();
    // the last edit is the one of the whole stroke once the drawing stops changing
    const edit = await page.waitForFunction(() => {
      const e = window.demo!.lastEdit;
      if (!e || e.known[27 * 32 + 16] !== 1) return null;
      return { image: Array.from(e.image), known: Array.from(e.known), result: Array.from(e.result) };
    }, null, { timeout: 60_000 }).then((h) => h.jsonValue() as Promise<{ image: number[]; known: number[]; result: number[] }>);
    expect(problems).toEqual([]);
    const drawn = edit.known.map((k, i) => (k === 1 ? i : -1)).filter((i) => i >= 0);
    expect(drawn.length).toBeGreaterThanOrEqual(24);
    for (const i of drawn) expect(edit.result[i], `pixel ${i}`).toBe(edit.image[i]);
    // the unknown pixels are the model's: not the drawing's background, and within [-1, 1]
    const filled = edit.result.filter((_, i) => edit.known[i] === 0);
    expect(filled.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(new Set(filled.map((v) => v.toFixed(3))).size).toBeGreaterThan(50);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/demo-inpaint.png`, fullPage: true });
    await page.close();
  }, 120_000);

  it('cpu: a class-conditional model gets a class picker, and samples of the class picked equal Node\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-web-'));
    const model = new SimpleUNet({ channels: 1, width: 32, numClasses: 3 }, { generator: new Generator(2) });
    saveSafetensors(join(dir, 'tiny-cond.safetensors'), model.stateDict(), {
      model: 'SimpleUNet', width: '32', channels: '1', num_classes: '3', class_names: JSON.stringify(['zero', 'one', 'two']),
    });
    const other = await serveDemo(0, dir);
    try {
      const threads = getRuntime().threads;
      const { page, problems } = await openDemo(`seed=4&backend=cpu&threads=${threads}&model=tiny-cond.safetensors&class=2`, 60_000, other.url);
      expect(problems).toEqual([]);
      expect(await page.locator('#class-picker').isVisible()).toBe(true);
      expect(await page.locator('#class option').allTextContents()).toEqual(['any', 'zero', 'one', 'two']);
      const { seed, label, images } = await pageSamples(page);
      expect([seed, label]).toEqual([4, 2]);
      const expected = nodeSamples(4, join(dir, 'tiny-cond.safetensors'), 2);
      expect(images.filter((v, i) => !Object.is(v, expected[i])).length).toBe(0);
      // the committed model is unconditional: no picker
      const plain = await openDemo(`seed=4&backend=cpu`, 60_000);
      expect(await plain.page.locator('#class-picker').isVisible()).toBe(false);
      await plain.page.close();
      await page.close();
    } finally {
      other.server.close();
    }
  }, 120_000);

  it('cpu: a model file chosen on the page (an official class-conditional checkpoint after convert) replaces the model; a bad file changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-web-file-'));
    const pt = 'test/fixtures/official-unet/e.pt';
    const args = cm.officialArgs(JSON.parse(readFileSync('test/fixtures/official-unet/e.args.json', 'utf8')), 'e.args.json');
    const converted = cm.convertOfficial(loadTorchStateDict(pt), args, 'consistency', 'e.pt');
    const file = join(dir, 'e.safetensors');
    saveSafetensors(file, converted.tensors, converted.metadata);
    writeFileSync(join(dir, 'notes.safetensors'), 'not a model');
    const threads = getRuntime().threads;
    const { page, problems } = await openDemo(`seed=4&backend=cpu&threads=${threads}`, 60_000);
    expect(problems).toEqual([]);
    await page.locator('#model-file').setInputFiles(join(dir, 'notes.safetensors'));
    await page.waitForFunction(() => (window.demo?.errors.length ?? 0) > 0, null, { timeout: 30_000 });
    expect(await page.evaluate(() => window.demo!.errors)).toEqual([expect.stringMatching(/^notes\.safetensors: engine: .*notes\.safetensors/)]);
    expect(await page.locator('#status').textContent()).toMatch(/notes\.safetensors was not loaded; the model before it is still in use/);
    await page.locator('#model-file').setInputFiles(file);
    await page.waitForFunction(() => document.body.dataset.model === 'e.safetensors', null, { timeout: 60_000 });
    // 1000 classes and no "any": an official file has no unconditional row
    const options = await page.locator('#class option').allTextContents();
    expect([options.length, options[0], options[999]]).toEqual([1000, '0', '999']);
    const { seed, label, images } = await pageSamples(page);
    expect(label).toBe(0);
    const expected = nodeSamples(seed, file, 0);
    expect(images.length).toBe(16 * 3 * 16 * 16);
    expect(images.filter((v, i) => !Object.is(v, expected[i])).length).toBe(0);
    expect(await page.evaluate(() => window.demo!.errors.length)).toBe(1);
    await page.close();
  }, 120_000);

  it('a model that cannot be fetched: the page says so instead of hanging', async () => {
    const { page } = await openDemo('backend=cpu&model=missing.safetensors', 60_000);
    const errors = await page.evaluate(() => window.demo!.errors);
    expect(errors).toEqual([expect.stringMatching(/fetching the model .*missing\.safetensors failed: 404/)]);
    expect(await page.locator('#status').textContent()).toMatch(/did not start/);
    await page.close();
  }, 60_000);

  it('webgpu (SwiftShader): the page gets ready without errors and its samples equal Node\'s to float32 tolerance', async () => {
    const { page, problems } = await openDemo(`seed=${SEED}&backend=webgpu`, 300_000);
    expect(problems).toEqual([]);
    const started = await page.evaluate(() => window.demo!.started);
    expect(started.backend).toBe('webgpu');
    const { images } = await pageSamples(page);
    const expected = nodeSamples(SEED);
    const worst = Math.max(...images.map((v, i) => Math.abs(v - expected[i]!)));
    console.log(`webgpu in Chromium (${started.adapter}): largest difference from Node's cpu samples ${worst.toExponential(2)}`);
    // Float32 rounding through ~30 layers, on a different device's arithmetic; 3.8e-6 was seen on SwiftShader.
    expect(worst).toBeLessThanOrEqual(2e-5);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/demo-webgpu.png`, fullPage: true });
    await page.close();
  }, 400_000);
});
