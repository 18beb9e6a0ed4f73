// A training run's learning curve: its figures (FD, say) against steps and minutes of training.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { FileAccessError, FormatError } from '../errors';
import type { Trainer } from './trainer';

export interface CurveOptions {
  /** Measure every this many steps (an integer >= 1), and at the end. */
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
 * then rename) at each point. A resumed run keeps the rows up to the step it resumes from (the
 * measurements' names must be the same, or the file starts afresh); a new run starts it afresh.
 */
export class CurveFile {
  readonly points: CurvePoint[] = [];

  constructor(readonly file: string, fromStep: number, resumed: boolean) {
    if (!resumed) {
      // a new run: an older run's rows must not be taken up if this one is resumed before its first point
      rmSync(file, { force: true });
      return;
    }
    if (!existsSync(file)) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new FileAccessError(file, `cannot read the learning curve ${file}: ${(e as Error).message}.`);
    }
    const [header, ...rows] = text.trim().split('\n');
    const names = header!.split(',').slice(2);
    for (const row of rows) {
      const values = row.split(',').map(Number);
      if (values.length !== names.length + 2 || values.some((v) => !Number.isFinite(v))) {
        throw new FormatError(file, `the learning curve ${file} has a row that is not ${names.length + 2} numbers ('${row}'); delete the file or the row to go on.`);
      }
      const [step, minutes, ...figures] = values as [number, number, ...number[]];
      if (step <= fromStep) this.points.push({ step, minutes, values: Object.fromEntries(names.map((k, i) => [k, figures[i]!])) });
    }
  }

  add(point: CurvePoint): void {
    const names = Object.keys(point.values);
    // a resumed run measuring other figures starts the file afresh
    if (this.points.some((p) => Object.keys(p.values).join() !== names.join())) this.points.length = 0;
    this.points.push(point);
    const rows = this.points.map((p) => [p.step, p.minutes.toFixed(3), ...names.map((k) => p.values[k]!.toFixed(3))].join(','));
    const temporary = `${this.file}.tmp`;
    try {
      writeFileSync(temporary, `${['step', 'minutes', ...names].join(',')}\n${rows.join('\n')}\n`);
      renameSync(temporary, this.file);
    } catch (e) {
      rmSync(temporary, { force: true });
      throw new FileAccessError(this.file, `cannot write the learning curve ${this.file}: ${(e as Error).message}; check that its folder is writable and has room.`);
    }
  }
}
