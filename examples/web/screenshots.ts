import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launchChromium } from '../../test/browser/chromium';
import { buildWeb } from './build';
import { serveDemo } from './serve';

// npx tsx examples/web/screenshots.ts [--only cpu|webgpu|train]: the README's pictures of the demo
// page (docs/web/): sampling on cpu and on webgpu, a drawn 7's top half inpainted, and the Train
// panel during the default MNIST run (its loss plot and the grids of step TRAIN_AT). Needs Chromium
// (as the browser tests).

declare const window: { demo: { lastEdit: { known: Float32Array } | null; errors: string[]; train: { gridSteps: number[]; errors: string[] } } };
declare const document: { body: { dataset: Record<string, string | undefined> } };

const OUT = 'docs/web';
const TRAIN_AT = 300;
const { values } = parseArgs({ options: { only: { type: 'string' } } });
const parts = values.only ? [values.only] : ['cpu', 'webgpu', 'train'];
mkdirSync(OUT, { recursive: true });
await buildWeb();
const { url, server } = await serveDemo(0);
const browser = await launchChromium();
try {
  for (const backend of (['cpu', 'webgpu'] as const).filter((b) => parts.includes(b))) {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${url}?backend=${backend}&seed=0`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 600_000 });
    if (backend === 'cpu') {
      await page.click('#clear');
      const box = (await page.locator('#draw').boundingBox())!;
      const at = (x: number, y: number) => [box.x + (box.width * (x + 0.5)) / 32, box.y + (box.height * (y + 0.5)) / 32] as const;
      // a 7: the bar, then the stroke down to the middle; the model completes the lower half
      const strokes: [number, number][][] = [[[9, 7], [23, 7]], [[23, 7], [16, 17]]];
      for (const stroke of strokes) {
        await page.mouse.move(...at(...stroke[0]!));
        await page.mouse.down();
        await page.mouse.move(...at(...stroke[1]!), { steps: 12 });
        await page.mouse.up();
      }
      await page.waitForFunction(() => window.demo.lastEdit?.known[17 * 32 + 16] === 1, null, { timeout: 60_000 });
      await page.waitForTimeout(1000);
      await page.locator('section').nth(2).screenshot({ path: `${OUT}/demo-inpaint.png` });
    }
    await page.waitForTimeout(backend === 'webgpu' ? 60_000 : 1000); // the edit and interpolation requests after the first grid
    await page.screenshot({ path: `${OUT}/demo-${backend}.png`, fullPage: true });
    const errors = await page.evaluate(() => window.demo.errors);
    if (errors.length) throw new Error(`the ${backend} page reported: ${errors.join('; ')}`);
    await page.close();
  }
  if (parts.includes('train')) {
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
    await page.goto(`${url}?train=ict&sampleEvery=100&checkpointEvery=100`);
    await page.waitForFunction((at) => window.demo.train.gridSteps.includes(at) || window.demo.train.errors.length > 0, TRAIN_AT, { timeout: 1_800_000 });
    await page.waitForTimeout(3000);
    await page.locator('#train').screenshot({ path: `${OUT}/demo-train.png` });
    const errors = await page.evaluate(() => window.demo.train.errors);
    if (errors.length) throw new Error(`the Train panel reported: ${errors.join('; ')}`);
    await page.click('#train-stop');
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`wrote the screenshots of ${parts.join(', ')} in ${OUT}`);
