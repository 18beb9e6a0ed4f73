import { cm, cpuThreads, data, decodeSafetensors, DivergenceError, fileTensors, getBackend, imageGrid, init } from '../../src/web';
import { datasetBytes, datasetFingerprint, datasetFromBytes } from './stored-dataset';
import { builtInDataset, datasetOf, folderDataset } from './train-data';
import { openRunStorage, type RunStorage } from './train-storage';
import type { Cadence, FolderFile, RecipeInfo, StoredRun, TrainReply, TrainRequest } from './train-protocol';

// The Train panel's engine: a Web Worker of its own (the demo's sampling worker keeps its model)
// that trains with the library's portable run (cm.TrainingRun, cm.trainLoop), keeps the checkpoint
// in the browser's storage (train-storage.ts) and answers the panel (train-protocol.ts).

declare const self: { postMessage(m: unknown, transfer: ArrayBuffer[]): void; onmessage: ((e: { data: TrainRequest }) => void) | null };
const post = (reply: TrainReply, transfer: ArrayBuffer[] = []): void => self.postMessage(reply, transfer);

/** The stored run: its checkpoint, a folder run's images, and the record of which images the checkpoint trains on. */
const CHECKPOINT = 'checkpoint.safetensors', DATASET = 'dataset.safetensors', RUN_RECORD = 'run.json';
const STORED_NAME = "the checkpoint in this browser's storage";
const DEFAULT_CADENCE: Cadence = { checkpointEvery: 50, sampleEvery: 50 };

let storage: RunStorage | null = null;
let run: cm.TrainingRun | null = null;
let cadence = DEFAULT_CADENCE;
let training: Promise<void> | null = null;
/** A Pause or Stop for the run training, or for the one a request being handled starts. */
let stopAs: 'pause' | 'stop' | null = null;
/** Requests that start a run (start, resume, continue) received and not yet handled. */
let pending = 0;
/** The label the grids are drawn for (undefined: the classes in turn). */
let gridLabel: number | undefined;

/** The setting of a recipe that names a weights file it cannot run without (cd: teacher), or null. */
function fileSetting(recipe: cm.TrainingRecipe): string | null {
  return Object.values(recipe.flags).find((f) => f.kind === 'file' && f.required)?.setting ?? null;
}

function recipes(): RecipeInfo[] {
  return cm.TRAIN_RECIPES.map((name) => {
    const recipe = cm.RECIPES[name] as cm.TrainingRecipe, needsFile = fileSetting(recipe);
    // the defaults as the CLI's; a file the recipe needs is named for the check only
    const c = cm.trainConfig({ recipe: name, ...(needsFile ? { [needsFile]: '-' } : {}) });
    return { name, summary: recipe.summary, defaults: { batch: c.batch, steps: c.steps, width: c.width, lr: c.lr, seed: c.seed }, needsFile };
  });
}

/** Storage failed: say so once; the run goes on in memory. */
function storageFailed(e: unknown): void {
  if (!storage) return;
  storage = null;
  post({ t: 'storage', message: `the browser refused to store the checkpoint (${(e as Error).message}): the run goes on in memory; use Download to keep it.` });
}

async function store(name: string, bytes: Uint8Array): Promise<boolean> {
  if (!storage) return false;
  try {
    await storage.write(name, bytes);
    return true;
  } catch (e) {
    storageFailed(e);
    return false;
  }
}

/** What the stored checkpoint trains on: the dataset's name, and a folder's fingerprint (stored-dataset.ts). */
interface RunRecord {
  dataset: string;
  fingerprint: string | null;
}

/**
 * Makes `dataset` the stored run's, before the run's first checkpoint is stored: the previous
 * checkpoint goes first, so a reload in between finds no run rather than the old run on new images.
 */
async function adopt(dataset: data.ImageDataset, folder: boolean): Promise<void> {
  if (!storage) return;
  try {
    await storage.remove(CHECKPOINT);
  } catch (e) {
    storageFailed(e);
    return;
  }
  if (folder) await store(DATASET, datasetBytes(dataset));
  const record: RunRecord = { dataset: dataset.name, fingerprint: folder ? datasetFingerprint(dataset) : null };
  await store(RUN_RECORD, new TextEncoder().encode(JSON.stringify(record)));
}

async function storedRecord(): Promise<RunRecord | null> {
  const bytes = await storage?.read(RUN_RECORD).catch(() => null);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as RunRecord;
  } catch {
    return null;
  }
}

function storedRun(bytes: Uint8Array | null): StoredRun | null {
  if (!bytes) return null;
  try {
    const s = cm.checkpointSummary(STORED_NAME, decodeSafetensors(bytes, STORED_NAME).metadata);
    return { recipe: s.config.recipe, step: s.step, steps: s.config.steps, dataset: s.dataset };
  } catch {
    return null;
  }
}

/** The engine's threads start with the first run (a page that never trains keeps only the sampling worker's). */
let engine: (() => Promise<unknown>) | null = null;
let started: Promise<unknown> | null = null;
const engineReady = () => (started ??= engine!());

async function start(req: Extract<TrainRequest, { t: 'init' }>): Promise<void> {
  engine = () => init({ backend: req.backend, threads: req.threads });
  const opened = await openRunStorage();
  let problem: string | null = null, stored: StoredRun | null = null;
  if (typeof opened === 'string') problem = `${opened}: runs go on in memory only; use Download to keep them.`;
  else {
    storage = opened;
    stored = storedRun(await storage.read(CHECKPOINT).catch(() => null));
  }
  post({ t: 'ready', recipes: recipes(), stored, storage: problem });
}

/** The weights files a configuration names (cd's teacher), fetched from the server's /models/ before the run is built. */
async function weightsFor(config: Record<string, unknown>): Promise<(name: string) => cm.WeightsFile> {
  const recipe = cm.RECIPES[config.recipe as cm.TrainRecipe] as cm.TrainingRecipe | undefined;
  const setting = recipe && fileSetting(recipe);
  const files = new Map<string, cm.WeightsFile>();
  const name = setting ? config[setting] : undefined;
  if (typeof name === 'string') {
    const url = new URL(`../models/${encodeURIComponent(name.split('/').pop()!)}`, import.meta.url).href;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`fetching the ${setting} ${url} failed: ${response.status} ${response.statusText}; put the file in the folder npm run demo serves (examples/checkpoints).`);
    const file = decodeSafetensors(new Uint8Array(await response.arrayBuffer()), name);
    files.set(name, { tensors: fileTensors(file), metadata: file.metadata });
  }
  return (n) => {
    const file = files.get(n);
    if (!file) throw new Error(`the run reads ${n}, which the page did not fetch.`);
    return file;
  };
}

function info(r: cm.TrainingRun, resumed: boolean): Extract<TrainReply, { t: 'started' }>['run'] {
  return {
    recipe: r.config.recipe, config: { ...r.config }, step: r.step, steps: r.config.steps, dataset: r.dataset.name, count: r.dataset.count,
    classNames: r.classNames ?? null, parameters: r.model.parameterCount(), progress: r.recipe.progress ?? null, resumed,
    backend: getBackend().name, threads: cpuThreads(),
  };
}

function postGrids(r: cm.TrainingRun): void {
  const labels = gridLabel === undefined ? undefined : new Array<number>(64).fill(gridLabel);
  const grids = cm.sampleGrids(r, 64, labels).map(({ name, images }) => {
    const grid = imageGrid(images, 8);
    images.dispose();
    return { name, grid };
  });
  post({ t: 'grids', step: r.step, grids }, grids.map((g) => g.grid.data.buffer as ArrayBuffer));
}

/** Trains `r` until it ends or is paused; its checkpoints go to storage. */
function train(r: cm.TrainingRun): void {
  run = r;
  r.schedule = { ...r.schedule, ...cadence };
  training = (async () => {
    let last = performance.now();
    try {
      const result = await cm.trainLoop(r, {
        ...cadence, checkpointName: STORED_NAME,
        saveCheckpoint: async () => post({ t: 'saved', step: r.step, stored: await store(CHECKPOINT, r.checkpointBytes()) }),
        onSamples: () => postGrids(r),
        onStep: ({ step, loss, n, rate }) => {
          const now = performance.now();
          post({ t: 'step', step, loss, n, rate, ms: now - last });
          last = now;
        },
        shouldStop: () => stopAs !== null,
      });
      if (result.stoppedBy) post({ t: 'paused', step: r.step, ended: stopAs === 'stop' });
      else {
        postGrids(r);
        post({ t: 'done', step: r.step });
      }
    } catch (e) {
      // the run in memory is broken (a DivergenceError: NaN weights): Resume and Download use the stored checkpoint
      run = null;
      const message = e instanceof DivergenceError ? `the run diverged: ${e.message}` : (e as Error).message;
      post({ t: 'failed', step: r.step, message, stored: storedRun(await storage?.read(CHECKPOINT).catch(() => null) ?? null) });
    } finally {
      training = null;
    }
  })();
}

/** A folder dataset's name without `folder:` and its path (the CLI records the whole path, the page the folder's name). */
const folderName = (dataset: string) => dataset.replace(/^folder:/, '').split(/[\\/]/).filter(Boolean).pop() ?? dataset;

function checkIdle(): void {
  if (training) throw new Error('a run is training: pause or stop it first.');
}

async function newRun(req: Extract<TrainRequest, { t: 'start' }>): Promise<void> {
  checkIdle();
  await engineReady();
  const dataset = await datasetOf(req.dataset);
  const s = req.settings;
  const given = Object.fromEntries(Object.entries({ batch: s.batch, steps: s.steps, width: s.width, lr: s.lr, seed: s.seed, classConditional: s.classConditional || undefined, teacher: s.teacher })
    .filter(([, v]) => v !== undefined));
  const config = cm.trainConfig({ recipe: s.recipe as cm.TrainRecipe, ...given });
  const r = new cm.TrainingRun(config, dataset, { weights: await weightsFor(config as unknown as Record<string, unknown>) });
  cadence = req.cadence;
  gridLabel = undefined;
  await adopt(dataset, req.dataset.kind === 'folder');
  post({ t: 'started', run: info(r, false) });
  train(r);
}

async function resume(req: Extract<TrainRequest, { t: 'resume' }>): Promise<void> {
  checkIdle();
  await engineReady();
  const name = req.file?.name ?? STORED_NAME;
  const bytes = req.file ? new Uint8Array(req.file.bytes) : await storage?.read(CHECKPOINT);
  if (!bytes) throw new Error('there is no stored run to resume (storage is empty or refused); upload a checkpoint instead.');
  const file = decodeSafetensors(bytes, name);
  const summary = cm.checkpointSummary(name, file.metadata);
  const builtIn = builtInDataset(summary.dataset);
  const dataset = builtIn ? await builtIn : req.file ? await uploadedRunImages(name, summary, req.folder) : await storedRunImages(summary, req.folder);
  if (!builtIn && (dataset.channels !== summary.channels || dataset.height !== summary.height)) {
    throw new Error(`${name} trained on ${summary.channels}-channel ${summary.height}x${summary.height} images, and ${dataset.name} gives ${dataset.channels}-channel ${dataset.height}x${dataset.height} ones: choose the run's folder.`);
  }
  const weights = await weightsFor(summary.config as unknown as Record<string, unknown>);
  const r = cm.resumeRun(name, { tensors: fileTensors(file), metadata: file.metadata }, dataset, {}, (config, images) => new cm.TrainingRun(config, images, { loadInit: false, weights }));
  cadence = { checkpointEvery: r.schedule.checkpointEvery || DEFAULT_CADENCE.checkpointEvery, sampleEvery: r.schedule.sampleEvery ?? DEFAULT_CADENCE.sampleEvery, ...req.cadence };
  gridLabel = undefined;
  // a run from a file becomes the stored run (a folder run's images with it)
  if (req.file) {
    await adopt(dataset, !builtIn);
    await store(CHECKPOINT, bytes);
  }
  post({ t: 'started', run: info(r, true) });
  if (r.step >= r.config.steps) {
    postGrids(r);
    post({ t: 'done', step: r.step });
  } else train(r);
}

/** The images of an uploaded folder run: the folder chosen, else the stored run's if they are the same folder's. */
async function uploadedRunImages(name: string, summary: cm.CheckpointSummary, folder: FolderFile[] | undefined): Promise<data.ImageDataset> {
  const wanted = folderName(summary.dataset);
  if (folder) {
    const dataset = await folderDataset(folder, summary.height, channelsOf(name, summary));
    if (folderName(dataset.name) !== wanted) throw new Error(`${name} trained on ${summary.dataset}, and the folder chosen is ${folderName(dataset.name)}: choose the folder ${wanted} and upload the checkpoint again.`);
    return dataset;
  }
  const kept = await storage?.read(DATASET).catch(() => null);
  const keptDataset = kept ? datasetFromBytes(kept, 'the stored images') : null;
  if (!keptDataset || folderName(keptDataset.name) !== wanted) throw new Error(`${name} trained on ${summary.dataset}: choose the folder ${wanted} (Dataset: your folder) and upload the checkpoint again.`);
  return keptDataset;
}

/** The images of the stored run: those stored with it (else the folder chosen), checked against the run's record. */
async function storedRunImages(summary: cm.CheckpointSummary, folder: FolderFile[] | undefined): Promise<data.ImageDataset> {
  const record = await storedRecord();
  const kept = await storage?.read(DATASET).catch(() => null);
  let dataset = kept ? datasetFromBytes(kept, 'the stored images') : null;
  if (!dataset || folderName(dataset.name) !== folderName(summary.dataset)) {
    if (!folder) throw new Error(`the stored run trained on ${summary.dataset}, whose images are not in this browser's storage: choose the folder ${folderName(summary.dataset)} and resume again.`);
    dataset = await folderDataset(folder, summary.height, channelsOf(STORED_NAME, summary));
    if (folderName(dataset.name) !== folderName(summary.dataset)) throw new Error(`the stored run trained on ${summary.dataset}, and the folder chosen is ${folderName(dataset.name)}: choose the folder ${folderName(summary.dataset)} and resume again.`);
  }
  if (record?.fingerprint && record.fingerprint !== datasetFingerprint(dataset)) {
    throw new Error(`the stored run trained on other images of ${folderName(summary.dataset)} (${record.fingerprint}; these: ${datasetFingerprint(dataset)}): choose the run's own folder, or start a new run.`);
  }
  return dataset;
}

function channelsOf(name: string, summary: cm.CheckpointSummary): 1 | 3 {
  if (summary.channels !== 1 && summary.channels !== 3) throw new Error(`${name} trained on ${summary.channels}-channel images; a folder gives 1 (grey) or 3 (RGB).`);
  return summary.channels;
}

async function download(what: 'checkpoint' | 'ema'): Promise<void> {
  let bytes: Uint8Array | null | undefined = null, name = what === 'checkpoint' ? CHECKPOINT : 'ema.safetensors';
  if (run) {
    bytes = what === 'checkpoint' ? run.checkpointBytes() : run.emaBytes();
    if (what === 'ema') name = run.recipe.exportName;
  } else if (what === 'checkpoint') bytes = await storage?.read(CHECKPOINT);
  if (!bytes) throw new Error(what === 'checkpoint' ? 'there is no run to download yet.' : 'the EMA weights come from a run in this page: start or resume one first.');
  const copy = bytes.slice().buffer as ArrayBuffer;
  post({ t: 'file', what, name, bytes: copy }, [copy]);
}

const HANDLERS: { [K in TrainRequest['t']]: (req: Extract<TrainRequest, { t: K }>) => void | Promise<void> } = {
  init: start,
  start: newRun,
  resume,
  pause: () => void (stopAs = 'pause'),
  stop: () => {
    stopAs = 'stop';
    // a paused run has no loop to see the request (a run being started sees it before its first step)
    if (!training && pending === 0 && run) post({ t: 'paused', step: run.step, ended: true });
  },
  continue: () => {
    checkIdle();
    if (!run) throw new Error('there is no run to continue.');
    if (run.step >= run.config.steps) throw new Error(`the run is done (${run.step} steps); start a new one.`);
    train(run);
  },
  download: (req) => download(req.what),
  grids: (req) => {
    gridLabel = req.label;
    if (run) postGrids(run);
  },
};

// Requests that train or load run one at a time; pause and stop take effect after the step running.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e) => {
  const req = e.data;
  const handle = async () => {
    try {
      await (HANDLERS[req.t] as (r: TrainRequest) => void | Promise<void>)(req);
    } catch (err) {
      post({ t: 'error', request: req.t, message: err instanceof Error ? err.message : String(err) });
    }
  };
  if (req.t === 'pause' || req.t === 'stop' || req.t === 'grids' || req.t === 'download') void handle();
  else if (req.t === 'start' || req.t === 'resume' || req.t === 'continue') {
    // a Pause or Stop from now on is for the run this request starts
    if (!training) stopAs = null;
    pending++;
    queue = queue.then(handle).finally(() => pending--);
  } else queue = queue.then(handle);
};
