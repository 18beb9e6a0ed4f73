// A process that runs one of the UNet rows of bench/unet-cases.ts on the cpu backend as
// torch_peer.py runs PyTorch's (a warm-up call, then the timed ones): its peak resident memory,
// the `-peak-rss` row beside PyTorch's. Prints one JSON line.
//   node --import tsx bench/unet-rss.ts train-step-imagenet9-unet-b8|sample-1step-imagenet64-b1|... [calls 4]
import { peakRssMb } from './peak-rss';
import { unetCases } from './unet-cases';

const name = process.argv[2];
const calls = Number(process.argv[3] ?? 4);
const c = unetCases().find((u) => u.name === name);
if (!c) throw new Error(`bench/unet-rss.ts: no UNet row '${name}'; the rows: ${unetCases().map((u) => u.name).join(', ')}`);
const run = await c.setup();
for (let i = 0; i < calls; i++) await run();
console.log(JSON.stringify({ name, max_rss_mb: peakRssMb(), calls }));
