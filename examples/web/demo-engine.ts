import { cm, cpuThreads, Generator, getBackend, imageGrid, init, randn, tensor, tidy, type Tensor } from '../../src/web';
import type { EngineReply, EngineRequest } from './protocol';

// The demo's engine: a Web Worker (the engine's synchronous kernels may block here, never on the
// page's thread) that loads the committed model and answers the page's requests (protocol.ts).

// The worker's globals (the engine is type-checked without the DOM library).
declare const self: { postMessage(m: unknown, transfer: ArrayBuffer[]): void; onmessage: ((e: { data: EngineRequest }) => void) | null };

let loaded: cm.LoadedConsistencyModel | null = null;
const post = (reply: EngineReply, transfer: ArrayBuffer[] = []): void => self.postMessage(reply, transfer);

async function start(req: Extract<EngineRequest, { t: 'start' }>): Promise<void> {
  const began = performance.now();
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const backend = await init({ backend: req.backend, threads: req.threads });
  const response = await fetch(req.model);
  if (!response.ok) throw new Error(`fetching the model ${req.model} failed: ${response.status} ${response.statusText}`);
  adapter = (backend as { adapter?: { description: string } | null }).adapter?.description ?? null;
  use(cm.consistencyModelFromBytes(new Uint8Array(await response.arrayBuffer()), req.model), req.model.split('/').pop()!, began, isolated);
}

let adapter: string | null = null;

/** Makes `model` the one requests use and tells the page what it is. */
function use(model: cm.LoadedConsistencyModel, name: string, began: number, isolated: boolean): void {
  loaded = model;
  const noLabelRow = (model.model.config as { noLabelRow?: boolean }).noLabelRow !== false;
  post({
    t: 'started', backend: getBackend().name, adapter, threads: cpuThreads(), isolated, shape: model.shape,
    classNames: model.classNames ?? null, msLoad: performance.now() - began, model: name, unconditional: !model.numClasses || noLabelRow,
  });
}

function load(req: Extract<EngineRequest, { t: 'load' }>): void {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  use(cm.consistencyModelFromBytes(new Uint8Array(req.bytes), req.name), req.name, performance.now(), isolated);
}

/** A request's result: the images' values, their grid's pixels, and the time taken. */
function answer(id: number, columns: number, run: () => Tensor): void {
  const began = performance.now();
  const images = run();
  const values = images.toArray() as Float32Array;
  const ms = performance.now() - began;
  const grid = imageGrid({ shape: images.shape, values }, columns);
  const count = images.shape[0]!;
  images.dispose();
  post({ t: 'result', id, images: values, count, grid, ms }, [values.buffer as ArrayBuffer, grid.data.buffer as ArrayBuffer]);
}

const labels = (label: number | undefined, count: number): number[] | undefined => (label === undefined ? undefined : Array(count).fill(label));

function handle(req: Exclude<EngineRequest, { t: 'start' | 'load' }>): void {
  if (!loaded) throw new Error('the engine has not started yet');
  const model = loaded;
  const [c, h, w] = model.shape;
  const generator = (seed: number) => new Generator(seed);
  switch (req.t) {
    case 'sample':
      return answer(req.id, Math.ceil(Math.sqrt(req.count)), () =>
        cm.sample(model.f, { count: req.count, shape: model.shape, generator: generator(req.seed), labels: labels(req.label, req.count) }));
    case 'edit':
      return answer(req.id, 1, () => tidy(() => {
        const image = tensor(req.image, { shape: [1, c, h, w] });
        const known = tensor(req.known, { shape: [1, 1, h, w] });
        const opts = { generator: generator(req.seed), labels: labels(req.label, 1) };
        if (req.kind === 'inpaint') return cm.inpaint(model.f, image, known, opts);
        // what was not drawn is background (-1) for the other two tasks
        const drawn = image.mul(known).add(known.neg().add(1).mul(-1));
        if (req.kind === 'superres') return cm.superResolve(model.f, cm.blockMeans(drawn, 4), 4, opts);
        const noisy = drawn.add(randn([1, c, h, w], { generator: opts.generator }).mul(req.noise));
        return cm.denoise(model.f, noisy, req.noise, 1, opts.labels);
      }));
    case 'interpolate':
      return answer(req.id, req.alphas.length, () => tidy(() => {
        const [a, b] = req.seeds.map((seed) => randn([1, c, h, w], { generator: generator(seed) }));
        return cm.interpolateLatents(model.f, a!, b!, req.alphas, req.alphas.length, labels(req.label, 1));
      }));
  }
}

// Requests run one at a time in arrival order (the kernels are synchronous); a slow one delays the next.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e) => {
  const req = e.data;
  queue = queue.then(async () => {
    try {
      if (req.t === 'load') load(req);
      else if (req.t !== 'start') handle(req);
      else if (loaded) throw new Error('the engine was started already');
      else await start(req);
    } catch (err) {
      post({ t: 'error', id: 'id' in req ? req.id : null, message: err instanceof Error ? err.message : String(err) });
    }
  });
};
