// Peak resident memory of a process that runs onestep's consistency-training step (bench/step-cases.ts)
// on the cpu backend: warm-up and a few timed steps, as torch_peer.py does for PyTorch. Prints one JSON line.
//   node --import tsx bench/step-rss.ts [width] [batch] [steps]
import { readFileSync } from 'node:fs';
import { ctStepCase } from './step-cases';

/** Peak resident memory: VmHWM (reset by exec; getrusage's maxrss starts a child at its parent's), else maxRSS. */
function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

const [width, batch, steps] = [32, 32, 7].map((d, i) => Number(process.argv[2 + i] ?? d));
const step = await ctStepCase('cpu', width, batch).setup();
for (let i = 0; i < steps; i++) await step();
console.log(JSON.stringify({ max_rss_mb: peakRssMb(), steps }));
