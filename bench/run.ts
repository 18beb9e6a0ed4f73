// npm run bench [-- --quick]: benny suites for the hot kernels on every available backend.
// Prints median time and GFLOP/s (or GB/s) per case and writes bench/results/latest.json.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import b from 'benny';
import { cpuBackend } from '../kernels/cpu/index';
import type { Backend, Conv2dGeometry } from '../src/backend/backend';

interface Row {
  name: string;
  backend: string;
  median_ms: number;
  gflops: number | null;
  gbps: number | null;
}

interface Case {
  name: string;
  /** Floating-point operations per run, or null when bytes are the measure. */
  flops: number | null;
  bytes: number | null;
  setup: (be: Backend) => () => void;
}

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('npm run bench [-- --quick]\n  --quick  fewer samples per case (for a smoke test)');
  process.exit(0);
}

function random(be: Backend, n: number, seed: number): unknown {
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return be.fromArray(data, 'float32');
}

function convGeometry(n: number, c: number, size: number): Conv2dGeometry {
  return { n, cIn: c, h: size, w: size, cOut: c, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: size, outW: size };
}

function gemm(m: number, k: number, n: number): Case {
  return {
    name: `gemm-${m}x${k}x${n}`,
    flops: 2 * m * k * n,
    bytes: null,
    setup: (be) => {
      const a = random(be, m * k, 1), w = random(be, k * n, 2), out = be.alloc(m * n, 'float32');
      const g = { batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
      return () => be.matmul(a, w, out, g);
    },
  };
}

function conv(kind: 'fwd' | 'dgrad' | 'wgrad', n: number, c: number, size: number): Case {
  const g = convGeometry(n, c, size);
  return {
    name: `conv2d-${kind}-c${c}-${size}x${size}-b${n}`,
    flops: 2 * n * c * c * 9 * size * size,
    bytes: null,
    setup: (be) => {
      const x = random(be, n * c * size * size, 3), w = random(be, c * c * 9, 4), y = random(be, n * c * size * size, 5);
      const outX = be.alloc(n * c * size * size, 'float32'), outW = be.alloc(c * c * 9, 'float32');
      if (kind === 'fwd') return () => be.conv2d(x, w, outX, g);
      if (kind === 'dgrad') return () => be.conv2dGradInput(y, w, outX, g);
      return () => be.conv2dGradWeight(x, y, outW, g);
    },
  };
}

function elementwise(name: string, n: number, run: (be: Backend, x: unknown, y: unknown, out: unknown) => void, streams: number): Case {
  return {
    name: `${name}-${n}`,
    flops: null,
    bytes: 4 * n * streams,
    setup: (be) => {
      const x = random(be, n, 6), y = random(be, n, 7), out = be.alloc(n, 'float32');
      return () => run(be, x, y, out);
    },
  };
}

const N_ELEM = 32 * 64 * 32 * 32;
const CASES: Case[] = [
  gemm(256, 256, 256),
  conv('fwd', 8, 32, 16),
  conv('dgrad', 8, 32, 16),
  conv('wgrad', 8, 32, 16),
  {
    name: 'groupnorm-fwd-c64-32x32-b8',
    flops: null,
    bytes: 4 * 2 * 8 * 64 * 32 * 32,
    setup: (be) => {
      const n = 8, c = 64, hw = 1024;
      const x = random(be, n * c * hw, 8), gamma = random(be, c, 9), beta = random(be, c, 10);
      const out = be.alloc(n * c * hw, 'float32'), mean = be.alloc(n * 32, 'float32'), rstd = be.alloc(n * 32, 'float32');
      return () => be.groupNorm(x, gamma, beta, out, mean, rstd, { n, c, hw, groups: 32, eps: 1e-5 });
    },
  },
  elementwise('silu', N_ELEM, (be, x, _y, out) => be.unary('silu', x, out), 2),
  elementwise('add', N_ELEM, (be, x, y, out) => be.binary('add', { buffer: x, offset: 0, strides: [1] }, { buffer: y, offset: 0, strides: [1] }, [N_ELEM], out), 3),
];

const BACKENDS: Backend[] = [cpuBackend as Backend];

async function main(): Promise<void> {
  const rows: Row[] = [];
  const minSamples = args.quick ? 2 : 5;
  const maxTime = args.quick ? 0.5 : 2;
  for (const be of BACKENDS) {
    for (const c of CASES) {
      const run = c.setup(be);
      await b.suite(
        `${c.name} [${be.name}]`,
        b.add(c.name, () => run()),
        b.configure({ cases: { minSamples, maxTime } }),
        b.complete((summary) => {
          const seconds = summary.results[0]!.details.median;
          rows.push({
            name: c.name,
            backend: be.name,
            median_ms: seconds * 1e3,
            gflops: c.flops === null ? null : c.flops / seconds / 1e9,
            gbps: c.bytes === null ? null : c.bytes / seconds / 1e9,
          });
        }),
      );
    }
  }
  console.log(`\n${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`);
  console.table(rows.map((r) => ({
    name: r.name, backend: r.backend, 'median ms': r.median_ms.toFixed(2),
    'GFLOP/s': r.gflops?.toFixed(2) ?? '', 'GB/s': r.gbps?.toFixed(2) ?? '',
  })));
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(rows, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  console.log(`wrote ${file}`);
}

await main();
