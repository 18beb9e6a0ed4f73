// npm run bench:breakdown: where one no-grad SimpleUNet forward (D=32, batch 32) spends its time,
// per backend kernel (conv2d listed per layer shape), timed by wrapping the cpu backend's methods.
// `-- --step`: the same for one consistency-training step (bench/step-cases.ts: forward, backward, AdamW, EMA).
import { parseArgs } from 'node:util';
import { cpuBackend } from '../kernels/cpu/index';
import type { Conv2dGeometry } from '../src/backend/backend';
import { Generator, noGrad, randn, SimpleUNet, tensor, tidy } from '../src/index';
import { ctStepCase } from './step-cases';

const { values: flags } = parseArgs({ options: { step: { type: 'boolean', default: false } } });

const REPEATS = 5;
const be = cpuBackend as unknown as Record<string, unknown>;
const stats = new Map<string, { ms: number; calls: number; flops: number }>();
for (const [name, fn] of Object.entries(be)) {
  if (typeof fn !== 'function' || ['size', 'dtype', 'supportsDType'].includes(name)) continue;
  be[name] = (...args: unknown[]) => {
    const t = performance.now();
    const result = (fn as (...a: unknown[]) => unknown)(...args);
    const ms = performance.now() - t;
    let key = ['unary', 'binary', 'unaryGrad', 'reduce'].includes(name) ? `${name}:${String(args[0])}` : name;
    let flops = 0;
    // conv2d(x, w, bias, out, g, ...), conv2dGradInput(gy, w, gx, g), conv2dGradWeight(x, gy, gw, g)
    const geometryAt = { conv2d: 4, conv2dGradInput: 3, conv2dGradWeight: 3 }[name];
    if (geometryAt !== undefined) {
      const g = args[geometryAt] as Conv2dGeometry;
      key = `${name} ${g.cIn}->${g.cOut} ${g.h}x${g.w}`;
      flops = 2 * g.n * g.cIn * g.cOut * g.kh * g.kw * g.outH * g.outW;
    }
    const s = stats.get(key) ?? { ms: 0, calls: 0, flops: 0 };
    stats.set(key, { ms: s.ms + ms, calls: s.calls + 1, flops: s.flops + flops });
    return result;
  };
}

const model = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
const t = tensor(new Array(32).fill(80));
const forward = () => tidy(() => noGrad(() => model.forward(randn([32, 1, 32, 32]).mul(80), t).toArray()));
const run = flags.step ? await ctStepCase('cpu', 32, 32).setup() : forward;
const what = flags.step ? 'step' : 'forward';
for (let i = 0; i < 3; i++) await run();
stats.clear();
const start = performance.now();
for (let i = 0; i < REPEATS; i++) await run();
const total = (performance.now() - start) / REPEATS;
const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms).map(([key, s]) => ({
  kernel: key,
  [`ms / ${what}`]: (s.ms / REPEATS).toFixed(1),
  [`calls / ${what}`]: s.calls / REPEATS,
  'GFLOP/s': s.flops ? (s.flops / s.ms / 1e6).toFixed(1) : '',
}));
console.table(rows);
console.log(`one ${what}: ${total.toFixed(1)} ms${flags.step ? '' : ` (${(32 / (total / 1e3)).toFixed(0)} images/s)`}; kernels account for ${([...stats.values()].reduce((a, s) => a + s.ms, 0) / REPEATS).toFixed(1)} ms`);
