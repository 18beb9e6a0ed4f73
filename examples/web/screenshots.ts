import { mkdirSync } from 'node:fs';
import { launchChromium } from '../../test/browser/chromium';
import { buildWeb } from './build';
import { serveDemo } from './serve';

// npx tsx examples/web/screenshots.ts: the README's pictures of the demo page (docs/web/): sampling
// on cpu and on webgpu, and a drawn 7's top half inpainted. Needs Chromium (as the browser tests).

declare const window: { demo: { lastEdit: { known: Float32Array } | null; errors: string[] } };
declare const document: { body: { dataset: Record<string, string | undefined> } };

const OUT = 'docs/web';
mkdirSync(OUT, { recursive: true });
await buildWeb();
const { url, server } = await serveDemo(0);
const browser = await launchChromium();
try {
  for (const backend of ['cpu', 'webgpu'] as const) {
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
} finally {
  await browser.close();
  server.close();
}
console.log(`wrote ${OUT}/demo-cpu.png, ${OUT}/demo-webgpu.png, ${OUT}/demo-inpaint.png`);
