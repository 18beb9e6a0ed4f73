import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime } from '../kernels/cpu/wasm/runtime';
import { buildWeb } from '../examples/web/build';
import { serveDemo } from '../examples/web/serve';
import { cm, data, decodeSafetensors, encodeSafetensors, loadSafetensors, setBackend } from '../src/index';
import { launchChromium } from './browser/chromium';

// The demo page's Train panel in Chromium (examples/web/train-panel.ts, its worker train-engine.ts):
// a run in the page equals the CLI's bit for bit (same seed, settings and threads), survives a
// reload through the browser's storage, trains on a folder the person chooses, and refuses bad
// files without losing the run. Each page opens in a context of its own (its own storage).

interface TrainState {
  status: string;
  run: { step: number; steps: number; resumed: boolean; classNames: string[] | null; config: Record<string, unknown>; backend: string; threads: number } | null;
  stored: { step: number; steps: number } | null;
  losses: number[];
  gridSteps: number[];
  saved: { step: number; stored: boolean }[];
  errors: string[];
  notices: string[];
}
declare const window: { demo?: { train: TrainState | null } };
declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { textContent: string | null } | null };

const THREADS = getRuntime().threads;
const RUN = 'train=ict&steps=10&seed=3&batch=8';

let browser: Browser;
let url: string;
let server: Server;
let dir: string;
/** The CLI's checkpoint and EMA export after 10 steps of RUN. */
let cli: { checkpoint: Uint8Array; ema: Uint8Array };

beforeAll(async () => {
  // the page trains on cpu: Node's side of every comparison too
  setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'onestep-train-web-'));
  const trained = spawnSync(process.execPath, ['--import', 'tsx', 'examples/mnist.ts', 'train', '--steps', '10', '--seed', '3', '--batch', '8', '--sample-every', '0', '--out', join(dir, 'cli')], {
    encoding: 'utf8', timeout: 300_000, env: { ...process.env, ONESTEP_THREADS: String(THREADS), ONESTEP_BACKEND: 'cpu' },
  });
  expect(trained.status, trained.stderr).toBe(0);
  cli = { checkpoint: readFileSync(join(dir, 'cli', 'checkpoint.safetensors')), ema: readFileSync(join(dir, 'cli', 'ema.safetensors')) };
  await buildWeb();
  ({ url, server } = await serveDemo(0));
  browser = await launchChromium();
}, 400_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/** A checkpoint's bytes with what differs between two equal runs left out: the wall-clock seconds and the cadences. */
function comparable(bytes: Uint8Array): Uint8Array {
  const file = decodeSafetensors(bytes, 'checkpoint');
  const { train_seconds: _seconds, schedule: _schedule, ...metadata } = file.metadata;
  return encodeSafetensors(Object.fromEntries(file.tensors), metadata);
}

async function openPage(query: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  await page.goto(`${url}?${query}`);
  return { page, problems };
}

const trainState = (page: Page): Promise<TrainState> => page.evaluate(() => window.demo!.train!);
/** Waits for the run's end or its first error; a timeout says where the panel stood, so a hang can be told from a slow run. */
async function waitDone(page: Page, timeout = 300_000): Promise<void> {
  try {
    await page.waitForFunction(() => document.body.dataset.trainDone === '1' || (window.demo?.train?.errors.length ?? 0) > 0, null, { timeout });
  } catch (e) {
    const panel = await page.evaluate(() => {
      const t = window.demo?.train;
      const text = (id: string) => document.getElementById(id)?.textContent;
      return { status: t?.status, step: document.body.dataset.trainStep, losses: t?.losses.length, notices: t?.notices, message: text('train-message'), shown: text('train-status') };
    }).catch((why: unknown) => `unreadable (${String(why)})`);
    throw new Error(`${(e as Error).message}\nthe panel then: ${JSON.stringify(panel)}`);
  }
}
const waitIdle = (page: Page) => page.waitForFunction(() => window.demo?.train?.status === 'idle' || window.demo?.train?.status === 'done', null, { timeout: 120_000 });

/** The file a data-download button gives. */
async function download(page: Page, what: 'checkpoint' | 'ema'): Promise<{ name: string; bytes: Uint8Array }> {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.click(`[data-download="${what}"]`)]);
  return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
}

/** A folder of one subfolder per class (ring, bar, dot), 4 coloured 12x12 PNGs each; `variant` changes the pixels. */
function shapesFolder(root: string, variant = 0): string {
  ['ring', 'bar', 'dot'].forEach((name, c) => {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const png = new PNG({ width: 12, height: 12 });
      for (let p = 0; p < 144; p++) png.data.set([(p * (c + 3) + 17 * i + variant) % 256, (p * 7 + 31 * variant) % 256, (p * c) % 256, 255], 4 * p);
      writeFileSync(join(root, name, `${i}.png`), PNG.sync.write(png));
    }
  });
  return root;
}

/** In the page (an init script): clicks Pause as soon as the step reaches each of `steps` in turn, on a page that autostarts a run (?train=). */
const pauseAtScript = (steps: number[]) => `if (location.search.includes('train=')) addEventListener('DOMContentLoaded', () => {
  const at = ${JSON.stringify(steps)};
  new MutationObserver(() => {
    if (at.length && Number(document.body.dataset.trainStep) >= at[0]) {
      at.shift();
      document.getElementById('train-pause').click();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['data-train-step'] });
});`;

describe('training in Chromium', () => {
  it('10 steps in the page give the CLI\'s checkpoint and EMA export, bit for bit', async () => {
    const { page, problems } = await openPage(`${RUN}&threads=${THREADS}`);
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.trainStep)).toBe('10');
    expect([state.run!.backend, state.run!.threads]).toEqual(['cpu', THREADS]);
    expect(state.losses).toHaveLength(10);
    expect(state.gridSteps.at(-1)).toBe(10);
    const checkpoint = await download(page, 'checkpoint');
    expect(checkpoint.name).toBe('checkpoint.safetensors');
    expect(Buffer.compare(comparable(checkpoint.bytes), comparable(cli.checkpoint))).toBe(0);
    const ema = await download(page, 'ema');
    expect(ema.name).toBe('ema.safetensors');
    expect(Buffer.compare(ema.bytes, cli.ema)).toBe(0);
    // what `npm run mnist -- sample --ckpt` reads
    writeFileSync(join(dir, 'page-ema.safetensors'), ema.bytes);
    expect(cm.loadConsistencyModel(join(dir, 'page-ema.safetensors')).shape).toEqual([1, 32, 32]);
    mkdirSync('runs/browser-test', { recursive: true });
    await page.screenshot({ path: 'runs/browser-test/train-done.png', fullPage: true });
    await page.context().close();
  }, 400_000);

  it('Pause writes a checkpoint that Resume continues, and after a reload the stored one of the second Pause ends equal to the uninterrupted run', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    // Pause pressed in the page the moment steps 3 and 6 are reported: the run has steps left whatever the machine's speed
    await page.addInitScript({ content: pauseAtScript([3, 6]) });
    await page.goto(`${url}?${RUN}&threads=${THREADS}&checkpointEvery=50`);
    await page.waitForFunction(() => window.demo?.train?.status === 'paused', null, { timeout: 300_000 });
    const first = await trainState(page);
    expect(first.run!.step).toBeGreaterThanOrEqual(3);
    expect(first.run!.step).toBeLessThan(6);
    // the only checkpoint before the end is Pause's
    expect(first.saved).toEqual([{ step: first.run!.step, stored: true }]);
    expect(await page.locator('#train-resume').isEnabled()).toBe(true);
    await page.click('#train-resume');
    await page.waitForFunction(() => window.demo!.train!.status === 'paused' && window.demo!.train!.saved.length === 2, null, { timeout: 300_000 });
    const second = await trainState(page);
    const pausedAt = second.run!.step;
    expect(pausedAt).toBeGreaterThanOrEqual(6);
    expect(pausedAt).toBeLessThan(10);
    expect(second.saved).toEqual([{ step: first.run!.step, stored: true }, { step: pausedAt, stored: true }]);
    // the checkpoint written on Pause, read back from storage after a reload
    await page.goto(`${url}?threads=${THREADS}`);
    await page.waitForFunction(() => window.demo?.train?.stored != null, null, { timeout: 120_000 });
    expect(await page.locator('#train-offer-text').textContent()).toContain(`ict on mnist-train, step ${pausedAt} of 10`);
    await page.click('#train-offer-resume');
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect([state.run!.resumed, state.run!.step, state.losses.filter((l) => l != null).length]).toEqual([true, 10, 10 - pausedAt]);
    expect(Buffer.compare(comparable((await download(page, 'checkpoint')).bytes), comparable(cli.checkpoint))).toBe(0);
    await context.close();
  }, 400_000);

  it('a reload after step 6 offers the stored run; resumed, it ends equal to the uninterrupted run', async () => {
    const { page, problems } = await openPage(`${RUN}&threads=${THREADS}&checkpointEvery=2`);
    // the reload once the checkpoint of step 6 is in storage (a write cut short by the reload leaves the one before)
    await page.waitForFunction(() => window.demo!.train!.saved.some((s) => s.step >= 6 && s.stored), null, { timeout: 300_000 });
    await page.goto(`${url}?threads=${THREADS}`);
    await page.waitForFunction(() => window.demo?.train?.stored != null, null, { timeout: 120_000 });
    const offer = await page.locator('#train-offer-text').textContent();
    const stored = Number(/step (\d+) of 10/.exec(offer ?? '')?.[1]);
    expect(offer).toMatch(/ict on mnist-train, step \d+ of 10/);
    expect(stored).toBeGreaterThanOrEqual(6);
    await page.click('#train-offer-resume');
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect([state.run!.resumed, state.run!.step]).toEqual([true, 10]);
    // the page saw the steps after the resume only
    expect(state.losses.filter((l) => l != null).length).toBe(10 - stored);
    const checkpoint = await download(page, 'checkpoint');
    expect(Buffer.compare(comparable(checkpoint.bytes), comparable(cli.checkpoint))).toBe(0);
    await page.context().close();
  }, 400_000);

  it('a folder of one subfolder per class trains class-conditionally, its class picker lists the folders, and it equals Node on the same images', async () => {
    const root = shapesFolder(join(dir, 'shapes'));
    const { page, problems } = await openPage(`threads=${THREADS}`);
    await waitIdle(page);
    await page.locator('#train-folder').setInputFiles(root);
    await page.locator('#train-folder-note', { hasText: '12 files in shapes' }).waitFor({ timeout: 30_000 });
    await page.check('#train-cc');
    await page.fill('#train-steps', '2');
    await page.fill('#train-batch', '4');
    await page.click('#train-start');
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect(state.run!.classNames).toEqual(['bar', 'dot', 'ring']);
    expect(await page.locator('#train-class option').allTextContents()).toEqual(['the classes in turn', 'bar', 'dot', 'ring']);
    expect(await page.locator('#train-class-picker').isVisible()).toBe(true);
    // a grid of one class
    const grids = state.gridSteps.length;
    await page.selectOption('#train-class', '2');
    await page.waitForFunction((n) => window.demo!.train!.gridSteps.length > n, grids, { timeout: 60_000 });
    const { bytes } = await download(page, 'checkpoint');
    const file = decodeSafetensors(bytes, 'page');
    expect([file.metadata.num_classes, file.metadata.class_names, file.metadata.dataset]).toEqual(['3', '["bar","dot","ring"]', 'folder:shapes']);
    // Node on the same folder (pngjs's pixels, the browser's decoder's) and settings
    const run = new cm.TrainingRun(cm.trainConfig({ recipe: 'ict', batch: 4, steps: 2, width: 32, lr: 1e-3, seed: 0, classConditional: true }), data.loadImageFolder(root));
    run.trainStep();
    run.trainStep();
    const expected = decodeSafetensors(run.checkpointBytes(), 'node');
    expect([...file.tensors.keys()]).toEqual([...expected.tensors.keys()]);
    const differing = [...file.tensors].filter(([name, t]) => Buffer.compare(Buffer.from(t.data.buffer), Buffer.from(expected.tensors.get(name)!.data.buffer)) !== 0).map(([name]) => name);
    expect(differing).toEqual([]);
    await page.context().close();
  }, 400_000);

  it('a corrupt uploaded checkpoint and a non-image file in a folder each give a clear message, and the run and its stored checkpoint stay', async () => {
    const { page, problems } = await openPage(`train=ict&steps=3&seed=1&batch=4&threads=${THREADS}`);
    await waitDone(page);
    const before = await download(page, 'checkpoint');
    writeFileSync(join(dir, 'broken.safetensors'), Buffer.concat([before.bytes.subarray(0, 4000), Buffer.from('not the rest')]));
    await page.locator('#train-upload').setInputFiles(join(dir, 'broken.safetensors'));
    await page.waitForFunction(() => window.demo!.train!.errors.length > 0, null, { timeout: 60_000 });
    expect((await trainState(page)).errors).toEqual([expect.stringMatching(/broken\.safetensors.*(truncated|header|bytes)/)]);
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed, { recursive: true });
    writeFileSync(join(mixed, 'a.png'), PNG.sync.write(new PNG({ width: 8, height: 8 })));
    writeFileSync(join(mixed, 'notes.txt'), 'a note, not an image');
    await page.locator('#train-folder').setInputFiles(mixed);
    await page.locator('#train-folder-note', { hasText: '2 files in mixed' }).waitFor({ timeout: 30_000 });
    await page.click('#train-start');
    await page.waitForFunction(() => window.demo!.train!.errors.length > 0, null, { timeout: 60_000 });
    expect((await trainState(page)).errors).toEqual([expect.stringMatching(/mixed\/notes\.txt is not a \.png, \.jpg or \.jpeg file.*remove it or convert it/)]);
    // nothing lost: the run in the page, and the checkpoint in storage after a reload
    const state = await trainState(page);
    expect([state.status, state.run!.step]).toEqual(['done', 3]);
    expect(Buffer.compare((await download(page, 'checkpoint')).bytes, before.bytes)).toBe(0);
    await page.goto(`${url}?threads=${THREADS}`);
    await waitIdle(page);
    expect(Buffer.compare((await download(page, 'checkpoint')).bytes, before.bytes)).toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 400_000);

  it('Upload continues a run the CLI stopped (Ctrl-C\'s checkpoint) to the end of an uninterrupted run', async () => {
    const config = cm.trainConfig({ recipe: 'ict', steps: 4, batch: 4, seed: 2 });
    const mnist = data.loadMnist('train');
    const cliRun = new cm.Trainer(config, mnist);
    const out = join(dir, 'stopped');
    mkdirSync(out, { recursive: true });
    const stopped = (await cm.runTraining(cliRun, { outDir: out, shouldStop: () => cliRun.step >= 2 })).checkpoint;
    const whole = new cm.TrainingRun(config, mnist);
    for (let k = 0; k < 4; k++) whole.trainStep();
    const straight = whole.checkpointBytes();
    const { page, problems } = await openPage(`threads=${THREADS}`);
    await waitIdle(page);
    await page.locator('#train-upload').setInputFiles(stopped);
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect([state.run!.resumed, state.run!.step, state.losses.filter((l) => l != null).length]).toEqual([true, 4, 2]);
    expect(Buffer.compare(comparable((await download(page, 'checkpoint')).bytes), comparable(straight))).toBe(0);
    await page.context().close();
  }, 400_000);

  it('Upload continues an RGB folder run of the CLI (its dataset the folder\'s whole path) on the folder chosen, to the end of an uninterrupted run', async () => {
    const root = shapesFolder(join(dir, 'cli-rgb', 'shapes'), 5);
    const images = data.loadImageFolder(root, { channels: 3 });
    const config = cm.trainConfig({ recipe: 'ict', steps: 4, batch: 4, seed: 2, classConditional: true });
    const cliRun = new cm.Trainer(config, images);
    const out = join(dir, 'cli-rgb', 'out');
    mkdirSync(out, { recursive: true });
    const stopped = (await cm.runTraining(cliRun, { outDir: out, shouldStop: () => cliRun.step >= 2 })).checkpoint;
    expect(decodeSafetensors(readFileSync(stopped), 'cli').metadata.dataset).toBe(`folder:${root}`);
    // the page records the folder's name, the CLI its path
    const whole = new cm.TrainingRun(config, { ...images, name: 'folder:shapes' });
    for (let k = 0; k < 4; k++) whole.trainStep();
    const { page, problems } = await openPage(`threads=${THREADS}`);
    await waitIdle(page);
    await page.locator('#train-folder').setInputFiles(root);
    await page.locator('#train-folder-note', { hasText: '12 files in shapes' }).waitFor({ timeout: 30_000 });
    await page.locator('#train-upload').setInputFiles(stopped);
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect([state.run!.resumed, state.run!.step, state.run!.classNames]).toEqual([true, 4, ['bar', 'dot', 'ring']]);
    const { bytes } = await download(page, 'checkpoint');
    expect(decodeSafetensors(bytes, 'page').metadata.channels).toBe('3');
    expect(Buffer.compare(comparable(bytes), comparable(whole.checkpointBytes()))).toBe(0);
    await page.context().close();
  }, 400_000);

  it('a folder run resumes from storage on its stored images whichever folder is chosen; a new run removes the stored checkpoint before its own', async () => {
    const own = shapesFolder(join(dir, 'store-a', 'shapes'));
    const other = shapesFolder(join(dir, 'store-b', 'shapes'), 9);
    const { page, problems } = await openPage(`threads=${THREADS}`);
    await waitIdle(page);
    await page.locator('#train-folder').setInputFiles(own);
    await page.locator('#train-folder-note', { hasText: '12 files in shapes' }).waitFor({ timeout: 30_000 });
    await page.check('#train-cc');
    await page.fill('#train-steps', '6');
    await page.fill('#train-batch', '4');
    await page.fill('#train-checkpoint-every', '2');
    await page.click('#train-start');
    await page.waitForFunction(() => window.demo!.train!.saved.some((s) => s.step >= 4 && s.stored), null, { timeout: 300_000 });
    await page.goto(`${url}?threads=${THREADS}`);
    await page.waitForFunction(() => window.demo?.train?.stored != null, null, { timeout: 120_000 });
    expect(await page.locator('#train-offer-text').textContent()).toMatch(/ict on folder:shapes, step [45] of 6/);
    // another folder of the same name chosen: the stored run goes on with its own images
    await page.locator('#train-folder').setInputFiles(other);
    await page.locator('#train-folder-note', { hasText: '12 files in shapes' }).waitFor({ timeout: 30_000 });
    await page.click('#train-offer-resume');
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect([state.run!.resumed, state.run!.step]).toEqual([true, 6]);
    const run = new cm.TrainingRun(cm.trainConfig({ recipe: 'ict', batch: 4, steps: 6, seed: 0, classConditional: true }), { ...data.loadImageFolder(own), name: 'folder:shapes' });
    for (let k = 0; k < 6; k++) run.trainStep();
    expect(Buffer.compare(comparable((await download(page, 'checkpoint')).bytes), comparable(run.checkpointBytes()))).toBe(0);
    // a new run on the other folder: a reload before its first checkpoint finds no stored run (not the old one on new images)
    await page.fill('#train-steps', '400');
    await page.fill('#train-checkpoint-every', '200');
    await page.click('#train-start');
    await page.waitForFunction(() => Number(document.body.dataset.trainStep) >= 1 && window.demo!.train!.run!.steps === 400, null, { timeout: 300_000 });
    await page.goto(`${url}?threads=${THREADS}`);
    await waitIdle(page);
    expect((await trainState(page)).stored).toBeNull();
    expect(await page.locator('#train-offer').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 400_000);

  it('a run that diverges is dropped: the panel says so, and Download and the Resume offer give the last good stored checkpoint', async () => {
    // a learning rate of 1e12: the loss of step 2 is NaN
    const { page, problems } = await openPage(`train=ict&steps=6&seed=1&batch=4&lr=1e12&threads=${THREADS}&checkpointEvery=1`);
    await page.waitForFunction(() => (window.demo?.train?.errors.length ?? 0) > 0, null, { timeout: 300_000 });
    const state = await trainState(page);
    expect(state.errors).toEqual([expect.stringMatching(/^the run diverged: the loss became (NaN|Infinity|-Infinity) at step 2; the last good checkpoint is the checkpoint in this browser's storage/)]);
    expect([state.status, state.run, state.stored]).toEqual(['idle', null, { recipe: 'ict', step: 1, steps: 6, dataset: 'mnist-train' }]);
    expect(await page.locator('#train-offer').isVisible()).toBe(true);
    expect(await page.locator('#train-resume').isDisabled()).toBe(true);
    const good = new cm.TrainingRun(cm.trainConfig({ recipe: 'ict', steps: 6, batch: 4, seed: 1, lr: 1e12 }), data.loadMnist('train'));
    good.trainStep();
    expect(Buffer.compare(comparable((await download(page, 'checkpoint')).bytes), comparable(good.checkpointBytes()))).toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 400_000);

  it('Stop pressed while a run is still loading is kept: the run stops before its first step with a checkpoint', async () => {
    const { page, problems } = await openPage(`threads=${THREADS}`);
    await waitIdle(page);
    await page.fill('#train-steps', '5');
    await page.fill('#train-batch', '4');
    // Start, then Stop in the same task: the worker gets Stop while it loads MNIST (the buttons wait for the run, a script need not)
    const disabled = await page.evaluate(`(() => {
      document.getElementById('train-start').click();
      const stop = document.getElementById('train-stop'), pause = document.getElementById('train-pause');
      const was = [window.demo.train.status, stop.disabled, pause.disabled];
      stop.disabled = false;
      stop.click();
      return was;
    })()`);
    expect(disabled).toEqual(['starting', true, true]);
    await waitDone(page);
    const state = await trainState(page);
    expect([...problems, ...state.errors]).toEqual([]);
    expect([state.status, state.run!.step, state.losses.length, state.saved]).toEqual(['done', 0, 0, [{ step: 0, stored: true }]]);
    expect(await page.locator('#train-message').textContent()).toMatch(/^stopped at step 0/);
    await page.context().close();
  }, 400_000);

  it('one Train panel per browser: a second tab waits while the first holds the stored run, and starts when it closes', async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    await first.goto(`${url}?threads=${THREADS}`);
    await waitIdle(first);
    const second = await context.newPage();
    await second.goto(`${url}?threads=${THREADS}`);
    await second.waitForFunction(() => (window.demo?.train?.notices.length ?? 0) > 0, null, { timeout: 60_000 });
    expect((await trainState(second)).notices).toEqual([expect.stringMatching(/another tab of this page is training .*this panel starts when that tab closes/)]);
    expect([(await trainState(second)).status, await second.locator('#train-start').isDisabled()]).toEqual(['starting', true]);
    await first.close();
    await waitIdle(second);
    expect(await second.locator('#train-start').isEnabled()).toBe(true);
    await context.close();
  }, 400_000);

  it('storage full: a clear message, and the run goes on in memory to its end', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // a real refusal: the origin's quota far below one checkpoint (about 5 MB at batch 4)
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: 100_000 });
    await page.goto(`${url}?train=ict&steps=4&seed=1&batch=4&threads=${THREADS}&checkpointEvery=2`);
    await waitDone(page);
    const state = await trainState(page);
    expect(state.errors).toEqual([]);
    expect(state.notices).toEqual([expect.stringMatching(/refused to store the checkpoint .*the run goes on in memory; use Download to keep it/)]);
    expect(state.saved.map((s) => s.stored)).toEqual([false, false]);
    expect(await page.evaluate(() => document.body.dataset.trainStep)).toBe('4');
    expect(decodeSafetensors((await download(page, 'checkpoint')).bytes, 'page').metadata.step).toBe('4');
    await context.close();
  }, 400_000);

  it('consistency distillation from a teacher the server has equals Node\'s', async () => {
    const models = join(dir, 'models');
    mkdirSync(models, { recursive: true });
    writeFileSync(join(models, 'mnist-simpleunet-d32.safetensors'), readFileSync('examples/checkpoints/mnist-simpleunet-d32.safetensors'));
    const mnist = data.loadMnist('train');
    const teacher = new cm.TrainingRun(cm.trainConfig({ recipe: 'edm', steps: 1, batch: 4 }), mnist);
    teacher.trainStep();
    writeFileSync(join(models, 'teacher.safetensors'), teacher.emaBytes());
    const other = await serveDemo(0, models);
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${other.url}?threads=${THREADS}`);
      await waitIdle(page);
      await page.selectOption('#train-recipe', 'cd');
      expect(await page.locator('#train-teacher option').allTextContents()).toEqual(['teacher.safetensors']);
      await page.fill('#train-steps', '2');
      await page.fill('#train-batch', '4');
      await page.click('#train-start');
      await waitDone(page);
      const state = await trainState(page);
      expect(state.errors).toEqual([]);
      expect(state.run!.config).toMatchObject({ recipe: 'cd', teacher: 'teacher.safetensors', lr: 1e-4 });
      const run = new cm.TrainingRun(cm.trainConfig({ recipe: 'cd', batch: 4, steps: 2, width: 32, lr: 1e-4, seed: 0, teacher: 'teacher.safetensors' }), mnist, {
        weights: (name) => loadSafetensors(join(models, name)),
      });
      run.trainStep();
      run.trainStep();
      expect(Buffer.compare(comparable((await download(page, 'checkpoint')).bytes), comparable(run.checkpointBytes()))).toBe(0);
      await context.close();
    } finally {
      other.server.close();
    }
  }, 400_000);
});
