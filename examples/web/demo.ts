import type { EditKind, EngineReply, EngineRequest, Grid } from './protocol';
import { setUpTraining, type TrainState } from './train-panel';

// The demo page: controls and canvases. Every tensor lives in the engine worker (demo-engine.ts);
// this thread only draws. URL parameters: backend=cpu|webgpu, seed=N (the first grid's seed),
// threads=N, model=FILE (a .safetensors file the server has under /models/; a file chosen or dropped
// on the page replaces it), class=K (the first class picked, for a class-conditional model). Once
// the first grid is drawn, document.body.dataset.ready is "1", and dataset.model the model's file
// name once its grids are drawn; window.demo holds what tests read (the last samples and edit,
// timings, errors; the Train panel's state and its URL parameters: train-panel.ts).

type Result = Extract<EngineReply, { t: 'result' }>;
type Started = Extract<EngineReply, { t: 'started' }>;

interface DemoState {
  backend: 'cpu' | 'webgpu';
  started: Started | null;
  /** The last grid of samples: its seed and values (count x C x H x W). */
  samples: { seed: number; label: number | null; images: Float32Array; count: number } | null;
  /** Engine milliseconds of each sampling request so far. */
  sampleMs: number[];
  /** The last edit: what the engine was given and what it returned (C x H x W each). */
  lastEdit: { kind: EditKind; image: Float32Array; known: Float32Array; result: Float32Array } | null;
  errors: string[];
  /** The Train panel (train-panel.ts). */
  train: TrainState | null;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const SAMPLES = 16;

function fail(message: string): void {
  demo.errors.push(message);
  $('error').textContent = demo.errors.join('\n');
}

function integerParam(name: string, fallback: number | undefined, min: number): number | undefined {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    fail(`?${name}=${raw} is not an integer of at least ${min}; using ${fallback ?? 'the default'}.`);
    return fallback;
  }
  return n;
}

const requested = params.get('backend') ?? 'cpu';
const demo: DemoState = { backend: requested === 'webgpu' ? 'webgpu' : 'cpu', started: null, samples: null, sampleMs: [], lastEdit: null, errors: [], train: null };
(window as unknown as { demo: DemoState }).demo = demo;
if (requested !== 'cpu' && requested !== 'webgpu') fail(`?backend=${requested} is not a backend; use cpu or webgpu. Using cpu.`);
let seed = integerParam('seed', 0, 0)!;
const threads = integerParam('threads', undefined, 1);
const initialClass = integerParam('class', undefined, 0);
const modelFile = params.get('model') ?? 'mnist-simpleunet-d32.safetensors';

// ---- the engine worker --------------------------------------------------------------------------

const worker = new Worker(new URL('./demo-engine.js', import.meta.url), { type: 'module' });
const pending = new Map<number, { done: (r: Result) => void; failed: (e: Error) => void }>();
let nextId = 1;
let starting: { done: (s: Started) => void; failed: (e: Error) => void } | null = null;
worker.onmessage = (e: MessageEvent<EngineReply>) => {
  const reply = e.data;
  if (reply.t === 'started') starting?.done(reply);
  else if (reply.t === 'error') {
    const error = new Error(`engine: ${reply.message}`);
    if (reply.id === null) starting?.failed(error);
    else pending.get(reply.id)?.failed(error);
    if (reply.id !== null) pending.delete(reply.id);
  } else {
    pending.get(reply.id)?.done(reply);
    pending.delete(reply.id);
  }
};
worker.onerror = (e) => {
  const error = new Error(`engine worker: ${e.message}`);
  starting?.failed(error);
  for (const p of pending.values()) p.failed(error);
  pending.clear();
};

/** Sends a request; resolves with its result, or rejects with the engine's error. */
function request(req: EngineRequest & { id: number }): Promise<Result> {
  return new Promise((done, failed) => {
    pending.set(req.id, { done, failed });
    worker.postMessage(req);
  });
}

/**
 * Runs `task` unless one of its kind is running, in which case it runs once more after that one
 * (with the inputs of then: the latest drawing, slider position). Errors are shown on the page.
 */
function coalesced(task: () => Promise<void>): () => Promise<void> {
  let running = false, again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    try {
      await task();
    } catch (e) {
      fail((e as Error).message);
    } finally {
      running = false;
    }
    if (again) await run();
  };
  return run;
}

function drawGrid(canvasId: string, grid: Grid, scale: number): void {
  const canvas = $<HTMLCanvasElement>(canvasId);
  canvas.width = grid.width;
  canvas.height = grid.height;
  canvas.style.width = `${grid.width * scale}px`;
  canvas.style.height = `${grid.height * scale}px`;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(grid.data), grid.width, grid.height), 0, 0);
}

const label = (): number | undefined => {
  const v = $<HTMLSelectElement>('class').value;
  return v === '' ? undefined : Number(v);
};

// ---- backend choice -----------------------------------------------------------------------------

/** Why WebGPU cannot run the engine here, or null. */
async function webgpuProblem(): Promise<string | null> {
  if (!crossOriginIsolated) return 'the page is not cross-origin isolated (serve it with npm run demo)';
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser offers no WebGPU (navigator.gpu is missing; Chromium: enable it or use a GPU)';
  try {
    if (!(await gpu.requestAdapter())) return 'WebGPU found no adapter';
  } catch (e) {
    return `WebGPU failed: ${(e as Error).message}`;
  }
  return null;
}

async function setUpBackendPicker(): Promise<void> {
  const select = $<HTMLSelectElement>('backend');
  select.value = demo.backend;
  const problem = await webgpuProblem();
  const notes: string[] = [];
  if (problem) {
    select.querySelector<HTMLOptionElement>('option[value=webgpu]')!.disabled = true;
    notes.push(`WebGPU unavailable: ${problem}.`);
  }
  if (!crossOriginIsolated) notes.push('CPU runs on one thread: threads need a cross-origin-isolated page.');
  $('backend-note').textContent = notes.join(' ');
  select.onchange = () => {
    params.set('backend', select.value);
    location.search = params.toString();
  };
}

// ---- samples ------------------------------------------------------------------------------------

/** A grid of new samples; with "continuously" ticked, the next one as soon as it is drawn. */
const drawSamples = coalesced(async () => {
  const began = performance.now();
  const mySeed = seed++;
  const req = { t: 'sample', id: nextId++, count: SAMPLES, seed: mySeed, label: label() } as const;
  const r = await request(req);
  drawGrid('samples', r.grid, 3);
  demo.samples = { seed: mySeed, label: req.label ?? null, images: r.images, count: r.count };
  demo.sampleMs.push(r.ms);
  $('sample-time').textContent = `seed ${mySeed}: ${SAMPLES} samples in ${r.ms.toFixed(1)} ms in the engine (${(performance.now() - began).toFixed(1)} ms with the round trip)`;
  document.body.dataset.ready = '1';
  if ($<HTMLInputElement>('continuous').checked) setTimeout(() => void drawSamples(), 0);
});

// ---- drawing and editing ------------------------------------------------------------------------

/** The drawing, the model's height x width: a value (1 ink, -1 erased) and whether it is known, per pixel. */
let [channels, height, width] = [1, 32, 32];
let ink = new Float32Array(height * width).fill(-1);
let known = new Float32Array(height * width);
const editSeed = 1;

function sizeDrawing(shape: [number, number, number]): void {
  [channels, height, width] = shape;
  ink = new Float32Array(height * width).fill(-1);
  known = new Float32Array(height * width);
  const canvas = $<HTMLCanvasElement>('draw');
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * 8}px`;
  canvas.style.height = `${height * 8}px`;
}

function renderDrawing(): void {
  const pixels = new Uint8ClampedArray(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    const rgb = known[i] ? (ink[i]! > 0 ? [255, 255, 255] : [0, 0, 0]) : [68, 68, 102];
    pixels.set([...rgb, 255], 4 * i);
  }
  $<HTMLCanvasElement>('draw').getContext('2d')!.putImageData(new ImageData(pixels, width, height), 0, 0);
}

function paint(event: PointerEvent): void {
  const canvas = $<HTMLCanvasElement>('draw');
  const box = canvas.getBoundingClientRect();
  const cx = ((event.clientX - box.left) / box.width) * width, cy = ((event.clientY - box.top) / box.height) * height;
  const radius = Number($<HTMLInputElement>('brush').value) / 2;
  const value = (document.querySelector<HTMLInputElement>('input[name=tool]:checked')!.value === 'ink') ? 1 : -1;
  for (let y = Math.floor(cy - radius); y <= Math.ceil(cy + radius); y++) {
    for (let x = Math.floor(cx - radius); x <= Math.ceil(cx + radius); x++) {
      if (x < 0 || y < 0 || x >= width || y >= height || (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > radius * radius + 0.25) continue;
      ink[y * width + x] = value;
      known[y * width + x] = 1;
    }
  }
  renderDrawing();
  scheduleEdit();
}

/** Runs the chosen edit on the drawing (the same in every channel); while one runs, the latest drawing waits for the next. */
const scheduleEdit = coalesced(async () => {
  const kind = document.querySelector<HTMLInputElement>('input[name=task]:checked')!.value as EditKind;
  const image = new Float32Array(channels * height * width), mask = known.slice();
  for (let c = 0; c < channels; c++) image.set(ink, c * height * width);
  const r = await request({ t: 'edit', id: nextId++, kind, image, known: mask, seed: editSeed, label: label(), noise: Number($<HTMLInputElement>('noise').value) });
  drawGrid('edited', r.grid, 7);
  demo.lastEdit = { kind, image, known: mask, result: r.images };
  $('edit-time').textContent = `${kind}: ${r.ms.toFixed(1)} ms in the engine`;
});

function setUpDrawing(): void {
  const canvas = $<HTMLCanvasElement>('draw');
  let down = false;
  canvas.onpointerdown = (e) => {
    down = true;
    canvas.setPointerCapture(e.pointerId);
    paint(e);
  };
  canvas.onpointermove = (e) => down && paint(e);
  canvas.onpointerup = () => (down = false);
  $('clear').onclick = () => {
    ink.fill(-1);
    known.fill(0);
    renderDrawing();
    void scheduleEdit();
  };
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name=task]')) input.onchange = () => void scheduleEdit();
  const noise = $<HTMLInputElement>('noise');
  const showNoise = () => ($('noise-value').textContent = `sigma ${noise.value}`);
  noise.oninput = () => {
    showNoise();
    void scheduleEdit();
  };
  showNoise();
}

/** Starts the drawing with the upper half of the first sample, so the first edit shows inpainting. */
function seedDrawing(): void {
  if (!demo.samples) return;
  const first = demo.samples.images.subarray(0, height * width);
  for (let i = 0; i < (height * width) / 2; i++) {
    ink[i] = first[i]! > 0 ? 1 : -1;
    known[i] = 1;
  }
  renderDrawing();
  void scheduleEdit();
}

// ---- interpolation ------------------------------------------------------------------------------

let ends: [number, number] = [seed + 1000, seed + 1001];
const drawBetween = coalesced(async () => {
  const alpha = Number($<HTMLInputElement>('alpha').value);
  const r = await request({ t: 'interpolate', id: nextId++, seeds: ends, alphas: [alpha], label: label() });
  drawGrid('between', r.grid, 4);
  $('interp-time').textContent = `alpha ${alpha.toFixed(2)}: ${r.ms.toFixed(1)} ms in the engine`;
});

const drawEnds = coalesced(async () => {
  const r = await request({ t: 'interpolate', id: nextId++, seeds: ends, alphas: [0, 1], label: label() });
  drawGrid('ends', r.grid, 4);
  await drawBetween();
});

function setUpInterpolation(): void {
  $<HTMLInputElement>('alpha').oninput = () => void drawBetween();
  $('new-ends').onclick = () => {
    ends = [ends[0] + 2, ends[1] + 2];
    void drawEnds();
  };
}

// ---- start --------------------------------------------------------------------------------------

/** Asks the engine to start (or to load a file) and resolves with what it loaded. */
function engineStart(message: EngineRequest, transfer: Transferable[] = []): Promise<Started> {
  return new Promise<Started>((done, failed) => {
    starting = { done, failed };
    worker.postMessage(message, transfer);
  });
}

/** Sets the page up for the model the engine reports: drawing size, class picker (`picked` chosen), status, then the grids. */
async function useModel(started: Started, picked: string | null = null): Promise<void> {
  demo.started = started;
  sizeDrawing(started.shape);
  $('status').textContent = `backend ${started.backend}${started.adapter ? ` (${started.adapter})` : ''} · ${started.threads} CPU thread${started.threads > 1 ? 's' : ''}` +
    ` · ${started.isolated ? 'cross-origin isolated' : 'not isolated'} · model ${started.model}, ${started.shape.join('x')}, loaded in ${started.msLoad.toFixed(0)} ms`;
  const select = $<HTMLSelectElement>('class');
  select.replaceChildren();
  // an official class-conditional file has no "no label" row: it samples one class at a time
  if (started.unconditional) select.add(new Option('any', ''));
  started.classNames?.forEach((name, k) => select.add(new Option(name, String(k))));
  if (picked !== null) select.value = picked;
  $('class-picker').hidden = started.classNames === null;
  await drawSamples();
  seedDrawing();
  await drawEnds();
  document.body.dataset.model = started.model;
}

/** A .safetensors file the person chose or dropped: the engine loads it in place of the model. */
async function loadModelFile(file: File): Promise<void> {
  $('status').textContent = `loading ${file.name} (${(file.size / 2 ** 20).toFixed(1)} MiB)...`;
  try {
    const bytes = await file.arrayBuffer();
    await useModel(await engineStart({ t: 'load', bytes, name: file.name }, [bytes]));
  } catch (e) {
    fail(`${file.name}: ${(e as Error).message}`);
    $('status').textContent = `${file.name} was not loaded; the model before it is still in use`;
  }
}

function setUpModelFile(): void {
  const input = $<HTMLInputElement>('model-file');
  input.onchange = () => input.files?.[0] && void loadModelFile(input.files[0]);
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file) void loadModelFile(file);
  });
}

async function main(): Promise<void> {
  void setUpBackendPicker();
  demo.train = setUpTraining({ backend: demo.backend, threads, params });
  const started = await engineStart({ t: 'start', backend: demo.backend, threads, model: new URL(`models/${encodeURIComponent(modelFile)}`, location.href).href });
  if (started.classNames === null && initialClass !== undefined) fail(`?class=${initialClass}: the model ${modelFile} is not class-conditional.`);
  const select = $<HTMLSelectElement>('class');
  select.onchange = () => {
    void drawSamples();
    void scheduleEdit();
    void drawEnds();
  };
  $('resample').onclick = () => void drawSamples();
  $('continuous').onchange = () => void drawSamples();
  setUpDrawing();
  setUpInterpolation();
  setUpModelFile();
  if (started.classNames && initialClass !== undefined && initialClass >= started.classNames.length) {
    fail(`?class=${initialClass}: the model has ${started.classNames.length} classes (0 to ${started.classNames.length - 1}).`);
  }
  const picked = started.classNames && initialClass !== undefined && initialClass < started.classNames.length ? String(initialClass) : null;
  await useModel(started, picked);
}

main().catch((e: Error) => {
  fail(e.message);
  $('status').textContent = 'the engine did not start; see the error below';
});
