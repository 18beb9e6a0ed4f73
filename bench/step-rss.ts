// A process that runs onestep's consistency-training step (bench/step-cases.ts) on the cpu backend,
// as torch_peer.py does for PyTorch: two warm-up steps, then the rest timed. Prints one JSON line:
// its peak resident memory and the mean time of the timed steps. Also a plain way to time or
// profile the step on its own (node --cpu-prof --import tsx bench/step-rss.ts).
//   node --import tsx bench/step-rss.ts [width 32] [batch 32] [steps 7]
import { peakRssMb } from './peak-rss';
import { ctStepCase } from './step-cases';

const [width, batch, steps] = [32, 32, 7].map((d, i) => Number(process.argv[2 + i] ?? d));
const step = await ctStepCase('cpu', width, batch).setup();
const warmUp = Math.min(2, steps - 1);
for (let i = 0; i < warmUp; i++) await step();
const started = performance.now();
for (let i = warmUp; i < steps; i++) await step();
console.log(JSON.stringify({ max_rss_mb: peakRssMb(), ms_per_step: (performance.now() - started) / (steps - warmUp), steps }));
