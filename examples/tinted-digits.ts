// npm run tinted-digits -- [DIR] [COUNT] [--by-class]: writes COUNT MNIST training digits as RGB PNGs,
// each tinted a random colour (seeded), into DIR (default runs/tinted-digits): a small RGB data set
// for `npm run mnist -- train --dataset DIR --channels 3` and for trying `edit --task colorize`.
// With --by-class, into one subfolder per digit (DIR/0 ... DIR/9): a labelled folder for
// `--class-conditional`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { data, Generator } from '../src/index';

function fail(message: string): never {
  console.error(`error: ${message}\nusage: npm run tinted-digits -- [DIR] [COUNT] [--by-class]`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs<{ allowPositionals: true; options: { 'by-class': { type: 'boolean' } } }>>;
try {
  parsed = parseArgs({ allowPositionals: true, options: { 'by-class': { type: 'boolean' } } });
} catch (e) {
  fail((e as Error).message);
}
const [dirArg, countArg, ...extra] = parsed.positionals;
if (extra.length) fail(`unexpected arguments: ${extra.join(' ')}.`);
const dir = resolve(dirArg ?? 'runs/tinted-digits');
const count = Number(countArg ?? 5000);
if (!Number.isInteger(count) || count < 1) fail(`COUNT must be a positive integer, got '${countArg}'.`);
const byClass = parsed.values['by-class'] ?? false;
const mnist = data.loadMnist('train');
const g = new Generator(0);
for (let k = 0; k < Math.min(count, mnist.count); k++) {
  const colour = [g.uniform(), g.uniform(), g.uniform()].map((c) => 0.35 + 0.65 * c);
  const png = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < 32 * 32; i++) {
    const v = (mnist.images[k * 1024 + i]! + 1) / 2; // [-1, 1] -> [0, 1]
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.round(255 * v * colour[c]!);
    png.data[i * 4 + 3] = 255;
  }
  const folder = byClass ? join(dir, String(mnist.labels![k])) : dir;
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `digit-${String(k).padStart(5, '0')}.png`), PNG.sync.write(png));
}
console.log(`${Math.min(count, mnist.count)} tinted digits in ${dir}${byClass ? ', one subfolder per digit' : ''}`);
