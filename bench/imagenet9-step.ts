// The imagenet9 example's training step (examples/imagenet9.ts: the UNet with its defaults,
// 64x64 RGB, class-conditional, the CLI's default recipe) on a labelled image folder, timed on the
// cpu backend: warm-up steps, then each step's milliseconds and their median. Also a way to
// profile that step (node --cpu-prof --import tsx bench/imagenet9-step.ts DIR).
//   node --import tsx bench/imagenet9-step.ts DIR [batch 8] [steps 5] [warm-up 2]
import { cm, data } from '../src/index';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node --import tsx bench/imagenet9-step.ts DIR [batch 8] [steps 5] [warm-up 2]');
const [batch, steps, warmUp] = [8, 5, 2].map((d, i) => Number(process.argv[3 + i] ?? d));
const dataset = data.loadDataset(dir, { channels: 3, size: 64 });
const config = cm.trainConfig({ recipe: 'ict', model: 'UNet', batch, steps: steps + warmUp, classConditional: true });
const run = new cm.Trainer(config, dataset);
for (let i = 0; i < warmUp; i++) run.trainStep();
const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const started = performance.now();
  run.trainStep();
  times.push(performance.now() - started);
}
const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
console.log(JSON.stringify({ batch, ms_per_step: times.map((t) => Math.round(t)), median_ms: Math.round(median) }));
