// One-step sampling with the official ImageNet-64 architecture (or LSUN-256's) and random weights,
// on the cpu backend: the time of f(80 z, 80) for one batch and the process's peak resident memory.
// One process per measurement (peak memory is the process's):
//   node --import tsx bench/official-sampling.ts [imagenet64|lsun256] [batch 1] [repeats 2]
// Prints one JSON line. The weights are float32 (the released files are fp16 and convert to float32).
import { cm, Generator, getBackend, nn, noGrad, randn, tensor } from '../src/index';
import { peakRssMb } from './peak-rss';

const preset = (process.argv[2] ?? 'imagenet64') as keyof typeof cm.OFFICIAL_PRESETS;
const [batch, repeats] = [1, 2].map((d, i) => Number(process.argv[3 + i] ?? d));
const args = cm.officialArgs(cm.OFFICIAL_PRESETS[preset], preset);
const { modelChannels, imageSize, unet } = cm.officialUNetConfig(args, preset);
let started = performance.now();
const model = new nn.UNet({ ...unet, channels: 3, modelChannels, numClasses: args.class_cond ? 1000 : undefined }, { generator: new Generator(0) }).eval();
const buildSeconds = (performance.now() - started) / 1000;
const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
const f = cm.officialConsistency((x, t, labels) => model.forward(x, t, labels), 250);
const labels = args.class_cond ? Array.from({ length: batch }, (_, i) => i) : undefined;
const times: number[] = [];
for (let r = 0; r < repeats; r++) {
  const z = randn([batch, 3, imageSize, imageSize], { generator: new Generator(r) }).mul(80);
  started = performance.now();
  const x = noGrad(() => f(z, tensor(new Array(batch).fill(80)), labels));
  x.toArray();
  times.push((performance.now() - started) / 1000);
}
console.log(JSON.stringify({
  preset, backend: getBackend().name, parameters, batch, build_s: +buildSeconds.toFixed(2),
  sample_s: times.map((t) => +t.toFixed(2)), peak_rss_mb: Math.round(peakRssMb()),
}));
