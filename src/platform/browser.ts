import { adapterReport, type AdapterReport, type ParentPort, type Platform, type PlatformWorker } from './platform';

// The browser's side of src/platform/platform.ts. Worker scripts: the CPU kernels' threads run
// from a Blob URL; the gpu.js device worker is the bundle's onestep-gpu-worker.js, found next to
// the engine bundle (npm run build:web writes both).

declare const self: { postMessage(m: unknown): void; onmessage: ((e: { data: unknown }) => void) | null; crossOriginIsolated?: boolean };
type WebWorker = {
  postMessage(m: unknown, t?: ArrayBuffer[]): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string; preventDefault?(): void }) => void) | null;
  terminate(): void;
};
type WorkerConstructor = new (url: string | URL, options?: { type?: 'module' | 'classic'; name?: string }) => WebWorker;
const g = globalThis as unknown as {
  Worker?: WorkerConstructor;
  Blob: new (parts: string[], o: { type: string }) => unknown;
  URL: { createObjectURL(b: unknown): string };
  crossOriginIsolated?: boolean;
  document?: unknown;
  navigator?: { hardwareConcurrency?: number; gpu?: { requestAdapter(o?: object): Promise<BrowserAdapter | null> } };
  console: { warn(...a: unknown[]): void };
};
type BrowserAdapter = { info?: Record<string, string | boolean>; isFallbackAdapter?: boolean };

/** The file next to the engine bundle that runs kernels/gpujs/worker.ts (npm run build:web). */
const DEVICE_WORKER_FILE = 'onestep-gpu-worker.js';

function wrap(worker: WebWorker): PlatformWorker {
  let failed: ((why: string) => void) | null = null;
  let gone: string | null = null;
  let handler: ((m: unknown) => void) | null = null;
  worker.onmessage = (e) => handler?.(e.data);
  worker.onerror = (e) => {
    e.preventDefault?.();
    if (gone) return;
    gone = e.message || 'the worker failed to load or threw';
    failed?.(gone);
  };
  return {
    postMessage: (m, t) => worker.postMessage(m, t),
    onMessage: (h) => (handler = h),
    onFailure: (h) => {
      failed = h;
      if (gone) h(gone);
    },
    unref: () => undefined,
    terminate: () => worker.terminate(),
  };
}

function newWorker(url: string | URL, type: 'module' | 'classic'): WebWorker {
  if (!g.Worker) throw new Error('onestep: this JavaScript environment has no Worker; run the engine with threads: 1 on the cpu backend.');
  return new g.Worker(url, { type });
}

/** One Blob URL per worker source, kept for the page's lifetime (every thread of a pool shares it). */
const scriptUrls = new Map<string, string>();

export const platform: Platform = {
  name: 'browser',
  setting: () => undefined,
  enableRelaxedSimd: () => {},
  defaultThreads: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
  canBlock: () => g.document === undefined && g.crossOriginIsolated === true,
  sharedMemory: () => g.crossOriginIsolated === true,
  workersStartAtOnce: () => false,
  scriptWorker(source, data) {
    let url = scriptUrls.get(source);
    if (!url) {
      url = g.URL.createObjectURL(new g.Blob([`${source}\nself.onmessage = (e) => { self.onmessage = null; start(e.data); };\n`], { type: 'text/javascript' }));
      scriptUrls.set(source, url);
    }
    const worker = newWorker(url, 'classic');
    worker.postMessage(data);
    return wrap(worker);
  },
  deviceWorker: () => wrap(newWorker(new URL(`./${DEVICE_WORKER_FILE}`, import.meta.url), 'module')),
  parentPort(): ParentPort {
    return {
      onMessage: (h) => (self.onmessage = (e) => h(e.data)),
      postMessage: (m) => self.postMessage(m),
    };
  },
  async installWebGPU(): Promise<AdapterReport> {
    const gpu = g.navigator?.gpu;
    if (!gpu) throw new Error('webgpu: this browser offers no navigator.gpu (WebGPU is off or unsupported here); Chromium needs a GPU or --enable-unsafe-webgpu.');
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error('webgpu: navigator.gpu.requestAdapter() found no adapter.');
    const report = adapterReport(adapter.info, 'browser');
    return { ...report, software: report.software || adapter.isFallbackAdapter === true };
  },
  log: (line) => g.console.warn(line),
  beforeExit: () => undefined,
  yieldToEventLoop: () => new Promise((done) => setTimeout(done, 0)),
};

export default platform;
