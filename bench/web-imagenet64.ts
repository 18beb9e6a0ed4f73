// The official ImageNet-64 architecture in the demo page (issue 25, "memory permitting"): a model
// file of that architecture (random weights, 295.9M parameters, 1.18 GB in float32, written as
// `npm run convert` writes one) is chosen on the page in Debian's Chromium, which loads it into the
// engine's worker and samples its 16-image grid at 64x64 on the cpu backend. Prints one JSON line:
// the seconds from choosing the file to the grid, the page's errors, the grid's size.
//   npx tsx bench/web-imagenet64.ts [threads 2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cm, Generator, nn, randn, saveSafetensors } from '../src/index';
import { networkSpecOf, specMetadata } from '../src/cm/network';
import { buildWeb } from '../examples/web/build';
import { serveDemo } from '../examples/web/serve';
import { launchChromium } from '../test/browser/chromium';

// the page's globals, as page.evaluate's callbacks see them (compiled without the DOM library)
declare const window: { demo?: { errors: string[]; samples?: { images: Float32Array } } };
declare const document: { body: { dataset: Record<string, string | undefined> } };

const threads = Number(process.argv[2] ?? 2);
const dir = mkdtempSync(join(tmpdir(), 'onestep-web-imagenet64-'));
const file = join(dir, 'imagenet64-random.safetensors');
const args = cm.officialArgs(cm.OFFICIAL_PRESETS.imagenet64, 'imagenet64');
const { modelChannels, unet } = cm.officialUNetConfig(args, 'imagenet64');
const model = new nn.UNet({ ...unet, channels: 3, modelChannels, numClasses: 1000 }, { generator: new Generator(0) });
// the zero-initialised output convolutions would make f(x) = x: small random values instead
const g = new Generator(1);
for (const p of model.parameters()) {
  if (p.ndim === 4 && (p.toArray() as Float32Array).every((v) => v === 0)) p.assign(randn([...p.shape], { generator: g }).mul(0.01).raw);
}
saveSafetensors(file, model.stateDict(), {
  ...specMetadata(networkSpecOf(model)), height: '64', parametrization: 'official', c_noise_scale: String(cm.DEFAULT_C_NOISE_SCALE), official_args: JSON.stringify(args),
});

await buildWeb();
const { url, server } = await serveDemo(0);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  page.on('crash', () => problems.push('the page crashed'));
  await page.goto(`${url}?seed=4&backend=cpu&threads=${threads}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1' || (window.demo?.errors.length ?? 0) > 0, null, { timeout: 120_000 });
  const started = performance.now();
  await page.locator('#model-file').setInputFiles(file);
  await page.waitForFunction(() => document.body.dataset.model === 'imagenet64-random.safetensors' || (window.demo?.errors.length ?? 0) > 0, null, { timeout: 1_800_000, polling: 1000 });
  const seconds = (performance.now() - started) / 1000;
  const grid = await page.evaluate(() => {
    const images = Array.from(window.demo!.samples?.images ?? []);
    return { values: images.length, finite: images.every((v) => Number.isFinite(v)), errors: window.demo!.errors };
  });
  console.log(JSON.stringify({ threads, seconds: +seconds.toFixed(1), ...grid, problems }));
  if (grid.errors.length || problems.length || !grid.finite || grid.values !== 16 * 3 * 64 * 64) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
