import type { Grid } from './protocol';
import { drawLossPlot } from './loss-plot';
import type { Cadence, DatasetChoice, FolderFile, RecipeInfo, RunInfo, RunSettings, StoredRun, TrainReply, TrainRequest } from './train-protocol';

// The Train panel: settings, progress, loss plot, sample grids, Pause/Resume/Stop, Download and
// Upload. The training itself runs in its own worker (train-engine.ts). URL parameters:
// train=RECIPE starts a run on MNIST when the page opens (steps, seed, batch, width, lr,
// dataset=mnist|fashion, checkpointEvery, sampleEvery; threads as for the page), resume=1 resumes
// the stored run. document.body.dataset.trainStep is the last finished step, trainDone "1" once
// the run has ended; window.demo.train holds what tests read.

export interface TrainState {
  /** starting: the engine or a run is loading (Start, Pause, Stop and Upload wait for it). */
  status: 'starting' | 'idle' | 'training' | 'paused' | 'done';
  recipes: RecipeInfo[];
  /** The run in the page (its step: the last finished one). */
  run: RunInfo | null;
  stored: StoredRun | null;
  /** Losses of the steps seen on this page, by step - 1 (a resumed run's earlier ones are absent). */
  losses: number[];
  /** The worker's milliseconds per step (ms of each step message). */
  stepMs: number[];
  /** Steps at which sample grids arrived. */
  gridSteps: number[];
  /** Steps of the checkpoints kept, and whether each reached storage. */
  saved: { step: number; stored: boolean }[];
  /** Messages about storage (refused, full). */
  notices: string[];
  errors: string[];
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/**
 * Runs `start` once this tab holds the origin's training lock (navigator.locks: one Train panel
 * per browser, as the stored run is one); `waiting` first when another tab holds it.
 */
function whenOnlyTab(start: () => void, waiting: () => void): void {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return start();
  let started = false;
  const hold = () => {
    started = true;
    start();
    // held until the page closes
    return new Promise<void>(() => undefined);
  };
  // a browser that refuses the lock (a sandboxed frame): the panel goes on without it
  const unlocked = () => void (started || hold());
  locks.request(TRAIN_LOCK, { ifAvailable: true }, (lock) => {
    if (lock) return hold();
    waiting();
    locks.request(TRAIN_LOCK, hold).catch(unlocked);
    return undefined;
  }).catch(unlocked);
}

const TRAIN_LOCK = 'onestep-training';

export function setUpTraining(options: { backend: 'cpu' | 'webgpu'; threads: number | undefined; params: URLSearchParams }): TrainState {
  const { params } = options;
  const state: TrainState = { status: 'starting', recipes: [], run: null, stored: null, losses: [], stepMs: [], gridSteps: [], saved: [], notices: [], errors: [] };
  const worker = new Worker(new URL('./train-engine.js', import.meta.url), { type: 'module' });
  const send = (req: TrainRequest, transfer: Transferable[] = []) => worker.postMessage(req, transfer);
  let folder: FolderFile[] | null = null;
  let lastStep = 0, lastN = 0, lastRate = 0;

  const message = (text: string) => ($('train-message').textContent = text);
  const fail = (text: string) => {
    state.errors.push(text);
    $('train-error').textContent = state.errors.join('\n');
  };

  function integer(name: string, min: number): number | undefined {
    const raw = params.get(name);
    if (raw === null) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      fail(`?${name}=${raw} is not an integer of at least ${min}; using the default.`);
      return undefined;
    }
    return n;
  }

  function buttons(): void {
    const s = state.status;
    $<HTMLButtonElement>('train-start').disabled = s === 'starting' || s === 'training';
    $<HTMLButtonElement>('train-pause').disabled = s !== 'training';
    $<HTMLButtonElement>('train-resume').disabled = s !== 'paused';
    $<HTMLButtonElement>('train-stop').disabled = s !== 'training' && s !== 'paused';
    $<HTMLInputElement>('train-upload').disabled = s === 'starting' || s === 'training';
  }

  function setStatus(s: TrainState['status']): void {
    state.status = s;
    buttons();
  }

  const minutes = (seconds: number) => (seconds >= 60 ? `${Math.floor(seconds / 60)} min ` : '') + `${Math.floor(seconds % 60)} s`;

  function showProgress(): void {
    const run = state.run;
    if (!run) return;
    const bar = $<HTMLProgressElement>('train-progress');
    bar.max = run.steps;
    bar.value = lastStep;
    const loss = state.losses[lastStep - 1];
    const eta = lastRate > 0 ? ` · ETA ${minutes((run.steps - lastStep) / lastRate)}` : '';
    $('train-status').textContent = `step ${lastStep}/${run.steps}${loss === undefined ? '' : ` · loss ${loss.toFixed(4)}`}` +
      `${run.progress ? ` · ${run.progress} ${lastN}` : ''} · ${lastRate.toFixed(2)} steps/s${eta}`;
    drawLossPlot($<HTMLCanvasElement>('train-loss'), state.losses.slice(0, lastStep), run.steps);
  }

  /** A grid's sampler as words: 1step, 2step (consistency models), heun18, heun40 (EDM teachers). */
  const samplerName = (name: string) => name.replace(/^(\d+)step$/, (_, n: string) => `${n} step${n === '1' ? '' : 's'}`).replace(/^heun(\d+)$/, '$1 Heun steps');

  function drawGrids(step: number, grids: { name: string; grid: Grid }[]): void {
    const box = $('train-grids');
    box.replaceChildren(...grids.map(({ name, grid }) => {
      const figure = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.width = grid.width;
      canvas.height = grid.height;
      canvas.style.width = `${grid.width * 1.4}px`;
      canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(grid.data), grid.width, grid.height), 0, 0);
      const caption = document.createElement('figcaption');
      caption.textContent = `${samplerName(name)} · the EMA copy at step ${step}`;
      figure.append(canvas, caption);
      return figure;
    }));
  }

  function offerStored(stored: StoredRun | null): void {
    state.stored = stored;
    const unfinished = stored && stored.step < stored.steps;
    $('train-offer').hidden = !unfinished;
    if (unfinished) $('train-offer-text').textContent = `A run is stored in this browser: ${stored.recipe} on ${stored.dataset}, step ${stored.step} of ${stored.steps}.`;
  }

  function showRun(run: RunInfo): void {
    state.run = run;
    lastStep = run.step;
    state.losses = [];
    state.stepMs = [];
    state.gridSteps = [];
    const picker = $<HTMLSelectElement>('train-class');
    picker.replaceChildren(new Option('the classes in turn', ''), ...(run.classNames ?? []).map((name, k) => new Option(name, String(k))));
    $('train-class-picker').hidden = run.classNames === null;
    message(`${run.resumed ? 'resumed' : 'training'} ${run.recipe}: ${run.parameters.toLocaleString()} parameters, ${run.dataset} (${run.count} images${run.classNames ? `, ${run.classNames.length} classes` : ''}), ` +
      `batch ${String(run.config.batch)}, lr ${String(run.config.lr)} · backend ${run.backend}, ${run.threads} thread${run.threads > 1 ? 's' : ''}`);
    $('train-offer').hidden = true;
    $<HTMLSelectElement>('train-recipe').value = run.recipe;
    for (const key of ['batch', 'steps', 'width', 'lr', 'seed'] as const) $<HTMLInputElement>(`train-${key}`).value = String(run.config[key]);
    $<HTMLInputElement>('train-cc').checked = run.config.classConditional === true;
    document.body.dataset.trainStep = String(run.step);
    delete document.body.dataset.trainDone;
  }

  const replies: { [K in TrainReply['t']]: (r: Extract<TrainReply, { t: K }>) => void } = {
    ready: (r) => {
      state.recipes = r.recipes;
      const select = $<HTMLSelectElement>('train-recipe');
      select.replaceChildren(...r.recipes.map((x) => new Option(`${x.name}: ${x.summary}`, x.name)));
      if (r.storage) notice(r.storage);
      offerStored(r.stored);
      void listTeachers();
      setStatus('idle');
      fillDefaults();
      autostart();
    },
    started: (r) => {
      showRun(r.run);
      setStatus('training');
    },
    step: (r) => {
      state.losses[r.step - 1] = r.loss;
      state.stepMs.push(r.ms);
      [lastStep, lastN, lastRate] = [r.step, r.n, r.rate];
      if (state.run) state.run.step = r.step;
      showProgress();
      document.body.dataset.trainStep = String(r.step);
    },
    grids: (r) => {
      state.gridSteps.push(r.step);
      drawGrids(r.step, r.grids);
    },
    saved: (r) => {
      state.saved.push({ step: r.step, stored: r.stored });
      $('train-saved').textContent = r.stored ? `checkpoint stored in this browser at step ${r.step}` : `checkpoint at step ${r.step} kept in memory only (storage refused)`;
    },
    storage: (r) => notice(r.message),
    paused: (r) => {
      setStatus(r.ended ? 'done' : 'paused');
      message(`${r.ended ? 'stopped' : 'paused'} at step ${r.step}; the checkpoint is stored${r.ended ? ' (the Resume offer brings the run back after a reload)' : ''}`);
      if (r.ended) document.body.dataset.trainDone = '1';
    },
    done: (r) => {
      setStatus('done');
      lastStep = r.step;
      showProgress();
      message(`done: ${r.step} steps; Download keeps the checkpoint and the EMA weights (npm run mnist -- sample --ckpt FILE reads either)`);
      document.body.dataset.trainStep = String(r.step);
      document.body.dataset.trainDone = '1';
    },
    file: (r) => {
      const url = URL.createObjectURL(new Blob([r.bytes], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = r.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    },
    failed: (r) => {
      // the worker dropped the broken run: Resume (the offer) and Download use the last good stored checkpoint
      fail(r.message);
      state.run = null;
      setStatus('idle');
      offerStored(r.stored);
      message(`training failed at step ${r.step}${r.stored ? `; the last good checkpoint (step ${r.stored.step}) is stored: Resume it or Download it` : ''}`);
      document.body.dataset.trainDone = '1';
    },
    error: (r) => {
      fail(r.message);
      if (r.request === 'start' || r.request === 'resume' || r.request === 'continue') setStatus(state.run && lastStep < state.run.steps ? 'paused' : state.run ? 'done' : 'idle');
      if (r.request === 'init') $('train-status').textContent = 'the training engine did not start; see the error';
    },
  };

  function notice(text: string): void {
    state.notices.push(text);
    $('train-notice').textContent = state.notices.join('\n');
  }

  worker.onmessage = (e: MessageEvent<TrainReply>) => (replies[e.data.t] as (r: TrainReply) => void)(e.data);
  worker.onerror = (e) => fail(`training worker: ${e.message}`);

  const recipe = () => state.recipes.find((r) => r.name === $<HTMLSelectElement>('train-recipe').value);

  function fillDefaults(): void {
    const r = recipe();
    if (!r) return;
    for (const key of ['batch', 'steps', 'width', 'lr', 'seed'] as const) $<HTMLInputElement>(`train-${key}`).value = String(r.defaults[key]);
    $('train-teacher-picker').hidden = r.needsFile === null;
  }

  /** The teachers the server has (models whose metadata says parametrization edm), for a recipe that needs one. */
  async function listTeachers(): Promise<void> {
    const select = $<HTMLSelectElement>('train-teacher');
    try {
      const models = (await (await fetch(new URL('models/index.json', location.href))).json()) as { file: string; teacher: boolean }[];
      const teachers = models.filter((m) => m.teacher);
      select.replaceChildren(...teachers.map((m) => new Option(m.file, m.file)));
      if (!teachers.length) select.replaceChildren(new Option('none served: npm run mnist -- teacher, then put teacher.safetensors in examples/checkpoints', ''));
    } catch (e) {
      select.replaceChildren(new Option(`the list of models failed (${(e as Error).message})`, ''));
    }
  }

  const numberOf = (id: string): number | undefined => {
    const v = $<HTMLInputElement>(id).value.trim();
    return v === '' ? undefined : Number(v);
  };

  function cadence(): Cadence {
    return { checkpointEvery: integer('checkpointEvery', 1) ?? numberOf('train-checkpoint-every') ?? 50, sampleEvery: integer('sampleEvery', 0) ?? numberOf('train-sample-every') ?? 50 };
  }

  function startRun(settings: RunSettings, dataset: DatasetChoice): void {
    state.errors.length = 0;
    $('train-error').textContent = '';
    setStatus('starting');
    message(dataset.kind === 'folder' ? `decoding ${dataset.files.length} files...` : `loading ${dataset.kind}...`);
    const transfer = dataset.kind === 'folder' ? dataset.files.map((f) => f.bytes) : [];
    const every = cadence();
    $<HTMLInputElement>('train-checkpoint-every').value = String(every.checkpointEvery);
    $<HTMLInputElement>('train-sample-every').value = String(every.sampleEvery);
    send({ t: 'start', settings, dataset, cadence: every }, transfer);
  }

  function startFromForm(): void {
    const r = recipe();
    if (!r) return;
    const kind = $<HTMLSelectElement>('train-dataset').value;
    if (kind === 'folder' && !folder) {
      fail('choose a folder first (the folder button, or drop one on this panel).');
      return;
    }
    const teacher = r.needsFile ? $<HTMLSelectElement>('train-teacher').value : undefined;
    if (r.needsFile && !teacher) {
      fail(`recipe ${r.name} needs a ${r.needsFile}, and the server has none (see the ${r.needsFile} list).`);
      return;
    }
    // the folder's bytes go to the worker; a copy stays for a later resume
    const dataset: DatasetChoice = kind === 'folder' ? { kind: 'folder', files: folder!.map((f) => ({ path: f.path, bytes: f.bytes.slice(0) })) } : { kind: kind as 'mnist' | 'fashion' };
    startRun({
      recipe: r.name, batch: numberOf('train-batch'), steps: numberOf('train-steps'), width: numberOf('train-width'), lr: numberOf('train-lr'), seed: numberOf('train-seed'),
      classConditional: $<HTMLInputElement>('train-cc').checked, teacher: teacher || undefined,
    }, dataset);
  }

  function resumeRun(file?: { name: string; bytes: ArrayBuffer }): void {
    state.errors.length = 0;
    $('train-error').textContent = '';
    setStatus('starting');
    message(file ? `reading ${file.name}...` : 'resuming the stored run...');
    const copy = folder?.map((f) => ({ path: f.path, bytes: f.bytes.slice(0) }));
    const cadenceGiven = { ...(params.has('checkpointEvery') ? { checkpointEvery: cadence().checkpointEvery } : {}), ...(params.has('sampleEvery') ? { sampleEvery: cadence().sampleEvery } : {}) };
    send({ t: 'resume', ...(file ? { file } : {}), ...(copy ? { folder: copy } : {}), cadence: cadenceGiven }, [...(file ? [file.bytes] : []), ...(copy ?? []).map((f) => f.bytes)]);
  }

  async function useFolder(files: FolderFile[]): Promise<void> {
    folder = files;
    $<HTMLSelectElement>('train-dataset').value = 'folder';
    const root = files[0]?.path.split('/')[0] ?? '?';
    $('train-folder-note').textContent = `${files.length} files in ${root}`;
  }

  async function readFolderInput(list: FileList): Promise<void> {
    await useFolder(await Promise.all(Array.from(list, async (f) => ({ path: f.webkitRelativePath || f.name, bytes: await f.arrayBuffer() }))));
  }

  /** The files under a dropped folder, with paths from its parent. */
  async function walk(entry: FileSystemEntry, out: FolderFile[]): Promise<void> {
    if (entry.isFile) {
      const file = await new Promise<File>((done, failed) => (entry as FileSystemFileEntry).file(done, failed));
      out.push({ path: entry.fullPath.replace(/^\//, ''), bytes: await file.arrayBuffer() });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((done, failed) => reader.readEntries(done, failed));
      if (!batch.length) break;
      for (const e of batch) await walk(e, out);
    }
  }

  function setUpControls(): void {
    $('train-recipe').onchange = fillDefaults;
    $('train-start').onclick = startFromForm;
    $('train-pause').onclick = () => send({ t: 'pause' });
    $('train-stop').onclick = () => send({ t: 'stop' });
    $('train-resume').onclick = () => {
      setStatus('training');
      send({ t: 'continue' });
    };
    $('train-offer-resume').onclick = () => resumeRun();
    $('train-dataset').onchange = () => $<HTMLSelectElement>('train-dataset').value === 'folder' && !folder && $('train-folder').click();
    $('train-folder-button').onclick = () => $('train-folder').click();
    const folderInput = $<HTMLInputElement>('train-folder');
    folderInput.onchange = () => folderInput.files && void readFolderInput(folderInput.files);
    const upload = $<HTMLInputElement>('train-upload');
    upload.onchange = async () => {
      const file = upload.files?.[0];
      if (file) resumeRun({ name: file.name, bytes: await file.arrayBuffer() });
      upload.value = '';
    };
    $('train-class').onchange = () => {
      const v = $<HTMLSelectElement>('train-class').value;
      send({ t: 'grids', label: v === '' ? undefined : Number(v) });
    };
    for (const button of document.querySelectorAll<HTMLElement>('[data-download]')) {
      button.onclick = () => send({ t: 'download', what: button.dataset.download as 'checkpoint' | 'ema' });
    }
    // a folder (the dataset) or a .safetensors checkpoint (Upload) dropped on the panel
    const panel = $('train');
    panel.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      const item = e.dataTransfer?.items[0];
      const entry = item?.webkitGetAsEntry();
      if (entry?.isDirectory) {
        const files: FolderFile[] = [];
        void walk(entry, files).then(() => useFolder(files), (err: Error) => fail(`reading the dropped folder failed: ${err.message}`));
      } else if (item?.getAsFile()?.name.endsWith('.safetensors')) {
        const file = item.getAsFile()!;
        void file.arrayBuffer().then((bytes) => resumeRun({ name: file.name, bytes }));
      } else fail('drop a folder of images (one subfolder per class for labels) or a .safetensors checkpoint here.');
    });
  }

  /** ?train=RECIPE and ?resume=1. */
  function autostart(): void {
    if (params.get('resume') === '1') return resumeRun();
    const recipeName = params.get('train');
    if (recipeName === null) return;
    if (!state.recipes.some((r) => r.name === recipeName)) return fail(`?train=${recipeName} is not a recipe; use one of ${state.recipes.map((r) => r.name).join(', ')}.`);
    const dataset = params.get('dataset') ?? 'mnist';
    if (dataset !== 'mnist' && dataset !== 'fashion') return fail(`?dataset=${dataset}: the page starts runs on mnist or fashion (a folder: choose it in the panel).`);
    const lr = params.get('lr');
    startRun({ recipe: recipeName, steps: integer('steps', 1), seed: integer('seed', 0), batch: integer('batch', 1), width: integer('width', 32), lr: lr === null ? undefined : Number(lr) }, { kind: dataset });
  }

  setUpControls();
  buttons();
  whenOnlyTab(() => send({ t: 'init', backend: options.backend, threads: options.threads }), () => {
    notice('another tab of this page is training (the tabs share one stored run): this panel starts when that tab closes.');
    $('train-status').textContent = 'waiting for the other tab';
  });
  return state;
}
