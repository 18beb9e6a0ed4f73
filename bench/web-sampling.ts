import { parseArgs } from 'node:util';
import { getRuntime } from '../kernels/cpu/wasm/runtime';
import { serveDemo } from '../examples/web/serve';
import { buildWeb } from '../examples/web/build';
import { cm, data, Generator, withBackend } from '../src/index';
import { launchChromium } from '../test/browser/chromium';

// npm run bench:web: one-step sampling of 16 images of the committed model in Chromium (the demo
// page's engine in its Web Worker, timed there around sample + read-back) and in Node (the same
// calls, the same thread count), on this machine; medians after a warm-up run. Then training
// steps (the Train panel's worker running cm.trainLoop on MNIST, recipe ict at the CLI's defaults,
// timed per step in the worker; Node the same loop): --train-steps steps, the median after the
// first three. --webgpu also times the page's sampling on WebGPU (SwiftShader where there is no
// GPU: slow, and a different device).

type Demo = { sampleMs: number[]; errors: string[]; started: Record<string, unknown>; train: { stepMs: number[]; errors: string[] } };
// The page's globals in page.evaluate's callbacks (this file is compiled without the DOM library).
declare const window: { demo: Demo };
declare const document: { body: { dataset: Record<string, string | undefined> } };

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, 'train-steps': { type: 'string', default: '23' }, webgpu: { type: 'boolean', default: false } } });
const trainSteps = Number(values['train-steps']);
if (!Number.isInteger(trainSteps) || trainSteps < 5) throw new Error(`--train-steps must be an integer of at least 5, got '${values['train-steps']}'.`);
const WARM_UP_STEPS = 3;
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 2) throw new Error(`--runs must be an integer of at least 2, got '${values.runs}'.`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function nodeTimes(): number[] {
  return withBackend('cpu', () => {
    const { f, shape } = cm.loadConsistencyModel('examples/checkpoints/mnist-simpleunet-d32.safetensors');
    const times: number[] = [];
    for (let k = 0; k <= runs; k++) {
      const began = performance.now();
      const images = cm.sample(f, { count: 16, shape, generator: new Generator(k) });
      images.toArray();
      times.push(performance.now() - began);
      images.dispose();
    }
    return times.slice(1);
  });
}

async function pageTimes(backend: 'cpu' | 'webgpu', threads: number, count: number): Promise<{ times: number[]; started: Record<string, unknown> }> {
  const { url, server } = await serveDemo(0);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${url}?backend=${backend}&threads=${threads}`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 600_000 });
    for (let k = 0; k < count; k++) {
      await page.click('#resample');
      await page.waitForFunction((n) => window.demo.sampleMs.length > n, k + 1, { timeout: 600_000 });
    }
    const { sampleMs, errors, started } = await page.evaluate(() => window.demo);
    if (errors.length) throw new Error(`the page reported: ${errors.join('; ')}`);
    return { times: sampleMs.slice(1), started };
  } finally {
    await browser.close();
    server.close();
  }
}

/** Node's milliseconds per training step (the page's settings: ict, the CLI's defaults, MNIST), after the warm-up. */
async function nodeTrainTimes(): Promise<number[]> {
  const run = withBackend('cpu', () => new cm.TrainingRun(cm.trainConfig({ recipe: 'ict', steps: trainSteps }), data.loadMnist('train')));
  const times: number[] = [];
  let last = performance.now();
  await cm.trainLoop(run, {
    checkpointEvery: trainSteps, checkpointName: 'memory', saveCheckpoint: () => undefined,
    onStep: () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
    },
  });
  return times.slice(WARM_UP_STEPS);
}

/** The page's milliseconds per training step, measured in its training worker (?train=ict, no grids, one checkpoint at the end). */
async function pageTrainTimes(threads: number): Promise<number[]> {
  const { url, server } = await serveDemo(0);
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${url}?train=ict&steps=${trainSteps}&threads=${threads}&sampleEvery=0&checkpointEvery=${trainSteps}`);
    await page.waitForFunction(() => document.body.dataset.trainDone === '1' || (window.demo.train?.errors.length ?? 0) > 0, null, { timeout: 1_200_000 });
    const { stepMs, errors } = await page.evaluate(() => window.demo.train);
    if (errors.length) throw new Error(`the page reported: ${errors.join('; ')}`);
    return stepMs.slice(WARM_UP_STEPS);
  } finally {
    await browser.close();
    server.close();
  }
}

const threads = getRuntime().threads;
const { sizes } = await buildWeb();
const node = median(nodeTimes());
const cpu = await pageTimes('cpu', threads, runs);
const page = median(cpu.times);
console.log(`engine bundle dist/web/onestep.js: ${(sizes['onestep.js']! / 1024).toFixed(1)} KiB (webgpu device worker ${(sizes['onestep-gpu-worker.js']! / 1024).toFixed(1)} KiB)`);
console.log(`16 one-step samples, cpu, ${threads} threads, median of ${runs}: Node ${node.toFixed(1)} ms, Chromium ${page.toFixed(1)} ms (page / Node = ${(page / node).toFixed(2)})`);
const nodeStep = median(await nodeTrainTimes()), pageStep = median(await pageTrainTimes(threads));
console.log(`ict training steps (batch 32, width 32, MNIST), cpu, ${threads} threads, median of ${trainSteps - WARM_UP_STEPS}: ` +
  `Node ${(1e3 / nodeStep).toFixed(2)} steps/s (${nodeStep.toFixed(0)} ms), Chromium ${(1e3 / pageStep).toFixed(2)} steps/s (${pageStep.toFixed(0)} ms) (page / Node time = ${(pageStep / nodeStep).toFixed(2)})`);
if (values.webgpu) {
  const gpu = await pageTimes('webgpu', threads, Math.min(runs, 5));
  console.log(`16 one-step samples, webgpu in Chromium (${String(gpu.started.adapter)}), median of ${gpu.times.length}: ${median(gpu.times).toFixed(1)} ms`);
}
