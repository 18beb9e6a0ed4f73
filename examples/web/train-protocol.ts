// Messages between the demo page's Train panel (train-panel.ts) and its training worker
// (train-engine.ts).
import type { Grid } from './protocol';

/** A file of a folder the person chose or dropped: its path from the folder's parent ('digits/7/a.png') and bytes. */
export interface FolderFile {
  path: string;
  bytes: ArrayBuffer;
}

/** The dataset of a new run: MNIST or Fashion-MNIST (served by npm run demo) or a folder's images. */
export type DatasetChoice = { kind: 'mnist' } | { kind: 'fashion' } | { kind: 'folder'; files: FolderFile[] };

/** The settings of a new run, as the CLI's flags (absent: the recipe's defaults). */
export interface RunSettings {
  recipe: string;
  batch?: number;
  steps?: number;
  width?: number;
  lr?: number;
  seed?: number;
  classConditional?: boolean;
  /** A recipe that needs a weights file (cd's teacher): its name under /models/. */
  teacher?: string;
}

export interface Cadence {
  /** Steps between checkpoints written to the browser's storage. */
  checkpointEvery: number;
  /** Steps between sample grids. */
  sampleEvery: number;
}

/** A recipe as the panel offers it. */
export interface RecipeInfo {
  name: string;
  summary: string;
  /** The CLI's defaults for it. */
  defaults: { batch: number; steps: number; width: number; lr: number; seed: number };
  /** The setting it cannot run without that names a weights file (cd: teacher), if any. */
  needsFile: string | null;
}

/** What a checkpoint holds, for the offer to resume it. */
export interface StoredRun {
  recipe: string;
  step: number;
  steps: number;
  dataset: string;
}

export type TrainRequest =
  | { t: 'init'; backend: 'cpu' | 'webgpu'; threads?: number }
  | { t: 'start'; settings: RunSettings; dataset: DatasetChoice; cadence: Cadence }
  /** Continues the stored run, or a checkpoint file; `folder`: the images of a folder run. */
  | { t: 'resume'; file?: { name: string; bytes: ArrayBuffer }; folder?: FolderFile[]; cadence?: Partial<Cadence> }
  /** Pause: stop after this step with a checkpoint (the run stays, Resume continues it); stop: the same, and the run ends. */
  | { t: 'pause' }
  | { t: 'stop' }
  | { t: 'continue' }
  | { t: 'download'; what: 'checkpoint' | 'ema' }
  /** The sample grids now, of one class (undefined: the classes in turn). */
  | { t: 'grids'; label?: number };

export interface RunInfo {
  recipe: string;
  config: Record<string, unknown>;
  step: number;
  steps: number;
  dataset: string;
  count: number;
  classNames: string[] | null;
  parameters: number;
  /** The progress name of the recipe's N ('N', 'stage'), or null. */
  progress: string | null;
  resumed: boolean;
  /** The engine it trains on: backend and CPU threads. */
  backend: string;
  threads: number;
}

export type TrainReply =
  | { t: 'ready'; recipes: RecipeInfo[]; stored: StoredRun | null; storage: string | null }
  | { t: 'started'; run: RunInfo }
  /** ms: the worker's time from the previous step's end to this one's (the step, and any checkpoint or grid before it). */
  | { t: 'step'; step: number; loss: number; n: number; rate: number; ms: number }
  | { t: 'grids'; step: number; grids: { name: string; grid: Grid }[] }
  /** A checkpoint was kept: in storage, or (storage refused) in memory only. */
  | { t: 'saved'; step: number; stored: boolean }
  | { t: 'storage'; message: string }
  | { t: 'paused'; step: number; ended: boolean }
  | { t: 'done'; step: number }
  /** Training failed (a DivergenceError: the loss not finite): the page dropped the run; stored: the last good checkpoint's run, which Resume and Download use. */
  | { t: 'failed'; step: number; message: string; stored: StoredRun | null }
  | { t: 'file'; what: 'checkpoint' | 'ema'; name: string; bytes: ArrayBuffer }
  /** An error: `request` names what failed; the run before it (if any) is as it was. */
  | { t: 'error'; request: TrainRequest['t']; message: string };
