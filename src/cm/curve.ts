// A training run's learning curve: its figures (FD, say) against steps and minutes of training.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Trainer } from './trainer';

export interface CurveOptions {
  every: number;
  /** The figures at this point of the run (FD at 1 and 2 steps, say); their names are the file's columns. */
  measure: (trainer: Trainer) => Record<string, number>;
  /** Called with each point once it is written. */
  onPoint?: (point: CurvePoint, seconds: number) => void;
}

/** One point of a learning curve: the step, the minutes of training before it (measurements left out), the figures. */
export interface CurvePoint {
  step: number;
  minutes: number;
  values: Record<string, number>;
}

/**
 * curve.csv: a header `step,minutes,NAMES...` and a row per point, rewritten whole (temporary file,
 * then rename) at each point. A resumed run keeps the rows up to the step it resumes from; a new
 * run starts the file afresh.
 */
export class CurveFile {
  readonly points: CurvePoint[] = [];

  constructor(readonly file: string, fromStep: number, resumed: boolean) {
    if (!resumed || !existsSync(file)) return;
    const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
    const names = header!.split(',').slice(2);
    for (const row of rows) {
      const [step, minutes, ...values] = row.split(',').map(Number);
      if (step! <= fromStep) this.points.push({ step: step!, minutes: minutes!, values: Object.fromEntries(names.map((k, i) => [k, values[i]!])) });
    }
  }

  add(point: CurvePoint): void {
    const names = Object.keys(point.values);
    // a resumed run measuring other figures starts the file afresh
    if (this.points.some((p) => Object.keys(p.values).join() !== names.join())) this.points.length = 0;
    this.points.push(point);
    const rows = this.points.map((p) => [p.step, p.minutes.toFixed(3), ...names.map((k) => p.values[k]!.toFixed(3))].join(','));
    writeFileSync(`${this.file}.tmp`, `${['step', 'minutes', ...names].join(',')}\n${rows.join('\n')}\n`);
    renameSync(`${this.file}.tmp`, this.file);
  }
}
