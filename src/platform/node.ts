import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';
import { installWebGPU } from './dawn';
import type { Platform, PlatformWorker } from './platform';

// Node's side of src/platform/platform.ts.

const require = createRequire(import.meta.url);

function wrap(worker: Worker): PlatformWorker {
  let failed: ((why: string) => void) | null = null;
  let gone: string | null = null;
  const fail = (why: string): void => {
    if (gone) return;
    gone = why;
    failed?.(why);
  };
  worker.on('error', (e) => fail(e.message));
  worker.on('exit', (code) => fail(`exited with code ${code}`));
  return {
    postMessage: (m, t) => worker.postMessage(m, t as never),
    onMessage: (h) => worker.on('message', h),
    onFailure: (h) => {
      failed = h;
      if (gone) h(gone);
    },
    unref: () => worker.unref(),
    terminate: () => void worker.terminate(),
  };
}

/**
 * The device worker is TypeScript: it registers tsx, then loads kernels/gpujs/worker.ts. A bundled
 * build (bench/device) names its compiled worker in ONESTEP_GPUJS_WORKER instead.
 */
function deviceWorker(webgpu: boolean): PlatformWorker {
  // Mesa's EGL (Dawn's OpenGL ES) reads the real environment, which a worker's process.env does not reach.
  if (webgpu) process.env.EGL_PLATFORM ??= 'surfaceless';
  const bundled = process.env.ONESTEP_GPUJS_WORKER;
  if (bundled) return wrap(new Worker(bundled));
  const tsxApi = pathToFileURL(require.resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const entry = new URL('../../kernels/gpujs/worker.ts', import.meta.url).href;
  return wrap(new Worker(
    `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  ));
}

export const platform: Platform = {
  name: 'node',
  setting: (name) => process.env[name] || undefined,
  defaultThreads: () => availableParallelism(),
  canBlock: () => true,
  sharedMemory: () => true,
  // a standard WebAssembly feature (Chrome 114, Node 22) that Node 20's V8 11.3 keeps behind this
  // flag; later V8s have no such flag (setting an unknown one prints an error), so only before 11.4
  enableRelaxedSimd: () => {
    const [major = 0, minor = 0] = process.versions.v8.split('.').map(Number);
    if (major < 11 || (major === 11 && minor < 4)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  },
  workersStartAtOnce: () => true,
  scriptWorker: (source, data) => wrap(new Worker(`${source}\nstart(require('node:worker_threads').workerData);\n`, {
    eval: true,
    // The source is plain CommonJS: no loader (tsx) needed, and flags such as --input-type=module
    // (node -e) must not reach the worker, where they would stop it from starting.
    execArgv: [],
    workerData: data,
  })),
  deviceWorker,
  parentPort() {
    if (!parentPort) throw new Error('onestep: parentPort() outside a worker thread.');
    const port = parentPort;
    return { onMessage: (h) => port.on('message', h), postMessage: (m) => port.postMessage(m) };
  },
  installWebGPU,
  log: (line) => void process.stderr.write(`${line}\n`),
  beforeExit(fn) {
    process.on('beforeExit', fn);
    process.on('exit', fn);
  },
  yieldToEventLoop: () => new Promise((done) => setImmediate(done)),
};

export default platform;
