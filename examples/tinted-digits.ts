// npm run tinted-digits -- [DIR] [COUNT]: writes COUNT MNIST training digits as RGB PNGs, each
// tinted a random colour (seeded), into DIR (default runs/tinted-digits): a small RGB data set for
// `npm run mnist -- train --dataset DIR --channels 3` and for trying `edit --task colorize`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { data, Generator } from '../src/index';

const dir = resolve(process.argv[2] ?? 'runs/tinted-digits');
const count = Number(process.argv[3] ?? 5000);
if (!Number.isInteger(count) || count < 1) {
  console.error(`error: COUNT must be a positive integer, got '${process.argv[3]}'.`);
  process.exit(2);
}
const mnist = data.loadMnist('train');
const g = new Generator(0);
mkdirSync(dir, { recursive: true });
for (let k = 0; k < Math.min(count, mnist.count); k++) {
  const colour = [g.uniform(), g.uniform(), g.uniform()].map((c) => 0.35 + 0.65 * c);
  const png = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < 32 * 32; i++) {
    const v = (mnist.images[k * 1024 + i]! + 1) / 2; // [-1, 1] -> [0, 1]
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.round(255 * v * colour[c]!);
    png.data[i * 4 + 3] = 255;
  }
  writeFileSync(join(dir, `digit-${String(k).padStart(5, '0')}.png`), PNG.sync.write(png));
}
console.log(`${Math.min(count, mnist.count)} tinted digits in ${dir}`);
