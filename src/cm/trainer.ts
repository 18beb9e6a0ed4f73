import { loadDataset } from '../data/by-name';
import type { ImageDataset } from '../data/dataset';
import { loadSafetensors, saveSafetensors } from '../io/safetensors-file';
import type { TrainConfig } from './config';
import type { WeightsFile } from './load';
import { resumeRun, TrainingRun } from './training-run';

/**
 * A training run in Node (the portable TrainingRun, training-run.ts, with files): the weights files
 * it reads (config.init, a recipe's teacher) come from disk, and its checkpoints and EMA exports
 * are written to files (atomically: temporary file, then rename).
 */
export class Trainer extends TrainingRun {
  /** options.loadInit false: leave config.init unread (resume restores the weights from its checkpoint). */
  constructor(config: TrainConfig, dataset: ImageDataset, options: { loadInit?: boolean } = {}) {
    super(config, dataset, options);
  }

  /** A weights file from disk (config.init, a recipe's teacher). */
  override readWeights(path: string): WeightsFile {
    return loadSafetensors(path);
  }

  /** Writes everything needed to resume (checkpointRecord) to `path`, atomically. */
  save(path: string): void {
    const { tensors, metadata } = this.checkpointRecord();
    saveSafetensors(path, tensors, metadata);
  }

  /** Writes one EMA copy (the primary one unless `rate` names an extra one) under the model's own names. */
  exportEma(path: string, rate = this.config.emaRate): void {
    const { tensors, metadata } = this.emaRecord(rate);
    saveSafetensors(path, tensors, metadata);
  }

  /**
   * Rebuilds a run from a checkpoint written by save(). The dataset is the one the checkpoint
   * names (metadata `dataset`) unless one is given.
   */
  static resume(path: string, dataset?: ImageDataset, overrides: Partial<Pick<TrainConfig, 'steps'>> = {}): Trainer {
    return resumeRun(path, loadSafetensors(path), dataset ?? ((s) => loadDataset(s.dataset, { channels: s.channels, size: s.height })), overrides,
      (config, data) => new Trainer(config, data, { loadInit: false }));
  }
}
