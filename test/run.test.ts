import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cm, DivergenceError, Generator, loadSafetensors, type data } from '../src/index';

function tinyDataset(): data.ImageDataset {
  const g = new Generator(3);
  const images = Float32Array.from({ length: 12 * 64 }, () => g.uniform() * 2 - 1);
  return { name: 'tiny', images, labels: null, count: 12, channels: 1, height: 8, width: 8 };
}
const config = cm.trainConfig({ recipe: 'ict', batch: 4, steps: 6, lr: 1e-3, seed: 2 });

describe('runTraining', () => {
  it('checkpoints, exports the EMA copies and writes grids at the end', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const trainer = new cm.Trainer({ ...config, extraEmaRates: [0.9] }, tinyDataset());
    const steps: number[] = [];
    const result = await cm.runTraining(trainer, { outDir, checkpointEvery: 4, onStep: (p) => steps.push(p.step) });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result).toMatchObject({ stopped: false, steps: 6, checkpoint: join(outDir, 'checkpoint.safetensors') });
    expect(result.exports).toEqual([join(outDir, 'ema.safetensors'), join(outDir, 'ema-0.9.safetensors')]);
    expect(result.grids.map((g) => g.slice(outDir.length + 1))).toEqual(['samples-final-1step.png', 'samples-final-2step.png']);
    expect(loadSafetensors(result.checkpoint).metadata.step).toBe('6');
  });

  it('stops after the step during which it was asked to, with a checkpoint there', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const trainer = new cm.Trainer(config, tinyDataset());
    const result = await cm.runTraining(trainer, { outDir, checkpointEvery: 100, shouldStop: () => trainer.step >= 2 });
    expect(result).toMatchObject({ stopped: true, stoppedBy: 'request', steps: 2, exports: [], grids: [] });
    expect(loadSafetensors(result.checkpoint).metadata.step).toBe('2');
  });

  it('stops with a checkpoint after the step that crosses its time limit', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const trainer = new cm.Trainer({ ...config, steps: 1000 }, tinyDataset());
    const realStep = trainer.trainStep.bind(trainer);
    // steps of at least 40 ms, so a limit of 0.2 s ends the run after a few of them
    trainer.trainStep = () => {
      const until = performance.now() + 40;
      const result = realStep();
      while (performance.now() < until);
      return result;
    };
    const ends: number[] = [];
    const started = performance.now();
    const result = await cm.runTraining(trainer, { outDir, checkpointEvery: 100, timeLimit: 0.2, onStep: () => ends.push(performance.now() - started) });
    expect(result).toMatchObject({ stopped: true, stoppedBy: 'time-limit', exports: [], grids: [] });
    expect(result.steps).toBe(ends.length);
    // the last step crossed the limit; none before it had (20 ms: runTraining's clock starts a little later)
    expect(ends.at(-1)).toBeGreaterThanOrEqual(200);
    if (ends.length > 1) expect(ends.at(-2)).toBeLessThan(220);
    expect(loadSafetensors(result.checkpoint).metadata.step).toBe(String(result.steps));
    await expect(cm.runTraining(trainer, { outDir, timeLimit: 0 })).rejects.toThrow(/timeLimit must be a positive number of seconds, got 0/);
  });

  it('stops at a loss that is not finite, naming the step and the last good checkpoint', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const trainer = new cm.Trainer(config, tinyDataset());
    const realStep = trainer.trainStep.bind(trainer);
    trainer.trainStep = () => (trainer.step < 3 ? realStep() : (trainer.step++, { loss: NaN, n: 11 }));
    const error = await cm.runTraining(trainer, { outDir, checkpointEvery: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    const d = error as DivergenceError;
    expect([d.step, d.checkpoint]).toEqual([4, join(outDir, 'checkpoint.safetensors')]);
    expect(d.message).toMatch(/the loss became NaN at step 4; the last good checkpoint is .*checkpoint\.safetensors: resume from it with a lower learning rate or gradient clipping \(CLI: --resume, --lr, --clip\)/);
    expect(loadSafetensors(d.checkpoint!).metadata.step).toBe('2');
    const early = new cm.Trainer(config, tinyDataset());
    early.trainStep = () => (early.step++, { loss: Infinity, n: 11 });
    await expect(cm.runTraining(early, { outDir: mkdtempSync(join(tmpdir(), 'onestep-run-')) })).rejects.toThrow(/no checkpoint was written yet/);
  });

  it('records a learning curve: every N steps and at the end, minutes of training without the measurements, kept across a resume', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const busy = (ms: number) => { for (const end = performance.now() + ms; performance.now() < end;); };
    // each measurement takes 300 ms, which the curve's minutes must leave out
    const measure = (t: cm.Trainer) => (busy(300), { fd: 100 - t.step, twice: 2 * t.step });
    const trainer = new cm.Trainer({ ...config, steps: 5 }, tinyDataset());
    const started = performance.now();
    const first = await cm.runTraining(trainer, { outDir, checkpointEvery: 4, curve: { every: 2, measure } });
    const wall = (performance.now() - started) / 1e3;
    expect(first.curve!.points.map((p) => [p.step, p.values])).toEqual([[2, { fd: 98, twice: 4 }], [4, { fd: 96, twice: 8 }], [5, { fd: 95, twice: 10 }]]);
    const minutes = first.curve!.points.map((p) => p.minutes);
    expect(minutes[0]).toBeGreaterThan(0);
    expect(minutes[1]).toBeGreaterThan(minutes[0]!);
    expect(trainer.trainSeconds).toBeLessThan(wall - 0.6);
    expect(minutes[2]! * 60).toBeCloseTo(trainer.trainSeconds, 6);
    const csv = readFileSync(join(outDir, 'curve.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,minutes,fd,twice');
    expect(csv.slice(1).map((r) => r.split(',').map(Number))).toEqual(first.curve!.points.map((p) => [p.step, Number(p.minutes.toFixed(3)), p.values.fd, p.values.twice]));
    // the checkpoint of step 4 keeps its seconds; resumed to 6 steps, the curve keeps steps 2 and 4 and goes on
    const checkpointAt4 = join(outDir, 'at4.safetensors');
    const again = new cm.Trainer({ ...config, steps: 4 }, tinyDataset());
    await cm.runTraining(again, { outDir: mkdtempSync(join(tmpdir(), 'onestep-run-')), checkpoint: checkpointAt4 });
    expect(Number(loadSafetensors(checkpointAt4).metadata.train_seconds)).toBeCloseTo(again.trainSeconds, 3);
    const resumed = cm.Trainer.resume(checkpointAt4, tinyDataset(), { steps: 6 });
    expect(resumed.trainSeconds).toBeCloseTo(again.trainSeconds, 3);
    const second = await cm.runTraining(resumed, { outDir, resumedFrom: checkpointAt4, curve: { every: 2, measure } });
    expect(second.curve!.points.map((p) => p.step)).toEqual([2, 4, 6]);
    expect(second.curve!.points[2]!.minutes * 60).toBeGreaterThan(again.trainSeconds);
    // a new run (not resumed) starts the file afresh
    const fresh = await cm.runTraining(new cm.Trainer({ ...config, steps: 2 }, tinyDataset()), { outDir, curve: { every: 1, measure: () => ({ other: 1 }) } });
    expect(fresh.curve!.points.map((p) => p.step)).toEqual([1, 2]);
    expect(readFileSync(join(outDir, 'curve.csv'), 'utf8')).toMatch(/^step,minutes,other\n1,[\d.]+,1\.000\n2,[\d.]+,1\.000\n$/);
  });

  it('keeps the EMA of the curve\'s best point (lowest first figure) apart from the checkpoints, across a resume', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const fds: Record<number, number> = { 2: 98, 4: 90, 6: 95, 8: 80 };
    const measure = (t: cm.Trainer) => ({ fd: fds[t.step]!, other: -t.step });
    const trainer = new cm.Trainer({ ...config, steps: 6 }, tinyDataset());
    let emaAt4: number[] = [];
    const realStep = trainer.trainStep.bind(trainer);
    trainer.trainStep = () => {
      const result = realStep();
      if (trainer.step === 4) emaAt4 = Array.from(trainer.ema.stateDict()['last.weight']!.toArray());
      return result;
    };
    const first = await cm.runTraining(trainer, { outDir, checkpointEvery: 2, curve: { every: 2, measure } });
    expect(first.curve!.best).toBe(join(outDir, 'best-ema.safetensors'));
    const best = loadSafetensors(first.curve!.best);
    expect(best.metadata.step).toBe('4');
    expect(Array.from(best.tensors['last.weight']!.toArray())).toEqual(emaAt4);
    expect(loadSafetensors(join(outDir, 'ema.safetensors')).metadata.step).toBe('6');
    // resumed, a point better than every earlier one (the first part's included) replaces it
    const resumed = cm.Trainer.resume(join(outDir, 'checkpoint.safetensors'), tinyDataset(), { steps: 8 });
    await cm.runTraining(resumed, { outDir, resumedFrom: join(outDir, 'checkpoint.safetensors'), curve: { every: 2, measure } });
    expect(loadSafetensors(join(outDir, 'best-ema.safetensors')).metadata.step).toBe('8');
  });

  it('starts a new run\'s curve afresh even before its first point, refuses a damaged curve on resume, and checks every', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'onestep-run-'));
    const file = join(outDir, 'curve.csv');
    writeFileSync(file, 'step,minutes,fd\n2,0.1,50\n');
    const measure = () => ({ fd: 1 });
    const trainer = new cm.Trainer({ ...config, steps: 4 }, tinyDataset());
    const stopped = await cm.runTraining(trainer, { outDir, shouldStop: () => trainer.step >= 1, curve: { every: 3, measure } });
    expect(stopped.stopped).toBe(true);
    expect(existsSync(file)).toBe(false);
    // each resume below goes on from the checkpoint of step 1 and writes its own
    const resume = (name: string) => ({ outDir, resumedFrom: stopped.checkpoint, checkpoint: join(outDir, name) });
    const resumed = await cm.runTraining(cm.Trainer.resume(stopped.checkpoint, tinyDataset()), { ...resume('b.safetensors'), curve: { every: 3, measure } });
    expect(resumed.curve!.points.map((p) => p.step)).toEqual([3, 4]);
    // a resumed run whose figures have other names than the rows it keeps starts the file afresh
    writeFileSync(file, 'step,minutes,fd\n1,0.1,5\n3,0.2,4\n');
    const renamed = await cm.runTraining(cm.Trainer.resume(stopped.checkpoint, tinyDataset()), { ...resume('c.safetensors'), curve: { every: 3, measure: () => ({ other: 2 }) } });
    expect(renamed.curve!.points.map((p) => [p.step, Object.keys(p.values)])).toEqual([[3, ['other']], [4, ['other']]]);
    writeFileSync(file, 'step,minutes,fd\n1,0.1\n');
    await expect(cm.runTraining(cm.Trainer.resume(stopped.checkpoint, tinyDataset()), { ...resume('d.safetensors'), curve: { every: 3, measure } }))
      .rejects.toThrow(/the learning curve .*curve\.csv has a row that is not 3 numbers \('1,0\.1'\); delete the file or the row/);
    await expect(cm.runTraining(new cm.Trainer(config, tinyDataset()), { outDir, curve: { every: 0, measure } })).rejects.toThrow(/curve\.every must be an integer >= 1/);
  });
});

// Ctrl-C as a user presses it. A terminal signals its whole foreground process group: npm, tsx's
// CLI and node each see it, and npm and tsx relay it again; tsx's CLI SIGKILLs a child that does
// not answer within 60 ms, which a process busy in a step cannot. The CLI trains in a process of
// its own (examples/cli/supervise.ts), so every way of starting it ends with a checkpoint.
const LAUNCH = {
  npm: ['npm', 'run', 'mnist', '--'],
  'npx tsx': [join('node_modules', '.bin', 'tsx'), 'examples/mnist.ts'],
  node: [process.execPath, '--import', 'tsx', 'examples/mnist.ts'],
} as const;
const CLI = LAUNCH.node;
const TRAIN = ['train', '--steps', '24', '--batch', '2', '--seed', '3', '--sample-every', '0', '--checkpoint-every', '1000', '--log-every', '1'];

interface Interrupt {
  launch?: readonly string[];
  /** SIGINTs to send, 30 ms apart (default 1). */
  signals?: number;
  /** Signal the process group, as a terminal does (the child is started in a group of its own). */
  group?: boolean;
  /** Train in the process started (ONESTEP_TRAINER_PROCESS=1: no separate trainer process). */
  inProcess?: boolean;
  extra?: string[];
}

/**
 * Starts a training run and sends SIGINT 100 ms after it has printed `afterStep`, so with batches
 * of 32 (steps of 0.3 s and more here) the signals arrive during a step.
 */
function interrupted(outDir: string, afterStep: number, opts: Interrupt = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const [command, ...args] = opts.launch ?? CLI;
  const env = { ...process.env, ...(opts.inProcess ? { ONESTEP_TRAINER_PROCESS: '1' } : {}) };
  const child = spawn(command!, [...args, ...TRAIN, ...(opts.extra ?? []), '--out', outDir], { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.group, env });
  let stdout = '', stderr = '', sent = false;
  const send = () => (opts.group ? process.kill(-child.pid!, 'SIGINT') : child.kill('SIGINT'));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    if (!sent && stdout.includes(`step ${afterStep}/24`)) {
      sent = true;
      for (let i = 0; i < (opts.signals ?? 1); i++) setTimeout(send, 100 + 30 * i);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((done) => child.on('exit', (code, signal) => done({ code, signal, stdout, stderr })));
}

const stoppedAt = (stdout: string): number => Number(/stopped at step (\d+) of 24/.exec(stdout)?.[1]);

describe('Ctrl-C during `npm run mnist -- train`', () => {
  it('finishes the step, writes a checkpoint and exits 130; resuming it gives the weights of an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-sigint-'));
    const stopped = await interrupted(join(dir, 'a'), 6);
    expect(stopped.code, stopped.stderr).toBe(130);
    const at = stoppedAt(stopped.stdout);
    expect(at).toBeGreaterThanOrEqual(6);
    expect(at).toBeLessThan(24);
    expect(stopped.stdout).toContain(`continue with: npm run mnist -- train --resume ${join(dir, 'a', 'checkpoint.safetensors')}`);
    expect(loadSafetensors(join(dir, 'a', 'checkpoint.safetensors')).metadata.step).toBe(String(at));

    const resumed = spawnSync(CLI[0], [...CLI.slice(1), 'train', '--resume', join(dir, 'a', 'checkpoint.safetensors'), '--log-every', '100'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    const straight = spawnSync(CLI[0], [...CLI.slice(1), ...TRAIN, '--log-every', '100', '--out', join(dir, 'b')], { encoding: 'utf8' });
    expect(straight.status, straight.stderr).toBe(0);
    const a = loadSafetensors(join(dir, 'a', 'checkpoint.safetensors')), b = loadSafetensors(join(dir, 'b', 'checkpoint.safetensors'));
    expect(a.metadata.step).toBe('24');
    expect(Object.keys(a.tensors).sort()).toEqual(Object.keys(b.tensors).sort());
    for (const name of Object.keys(b.tensors)) expect(Array.from(a.tensors[name]!.toArray()), name).toEqual(Array.from(b.tensors[name]!.toArray()));
  }, 300_000);

  for (const [name, launch] of Object.entries(LAUNCH)) {
    it(`through ${name}, with the whole process group signalled (a terminal's Ctrl-C): one press, a checkpoint`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'onestep-sigint-'));
      const stopped = await interrupted(dir, 2, { launch, group: true, extra: ['--batch', '32'] });
      // npm ends itself with the signal it got, once its script has exited (a shell shows 130 either way)
      if (name === 'npm') expect([stopped.code, stopped.signal], stopped.stderr).toContainEqual(stopped.code === null ? 'SIGINT' : 130);
      else expect(stopped.code, stopped.stderr).toBe(130);
      const at = stoppedAt(stopped.stdout);
      expect(at, stopped.stdout + stopped.stderr).toBeGreaterThanOrEqual(2);
      expect(stopped.stderr.match(/SIGINT: finishing this step/g)).toHaveLength(1);
      expect(loadSafetensors(join(dir, 'checkpoint.safetensors')).metadata.step).toBe(String(at));
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    }, 120_000);
  }

  it('two signals 30 ms apart are one press (npm and tsx relay each press again): a checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-sigint-'));
    const stopped = await interrupted(dir, 2, { signals: 2, extra: ['--batch', '32'] });
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(loadSafetensors(join(dir, 'checkpoint.safetensors')).metadata.step).toBe(String(stoppedAt(stopped.stdout)));
  }, 120_000);

  it('a second press during the same step exits when the step returns, without writing a checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-sigint-'));
    // the trainer itself, as the supervising process forwards a second press (500 ms after the first) to it
    const stopped = await interrupted(dir, 2, { signals: 2, inProcess: true, extra: ['--batch', '32'] });
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('SIGINT: finishing this step and writing the checkpoint');
    expect(stopped.stdout).not.toContain('stopped at step');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    if (existsSync(join(dir, 'checkpoint.safetensors'))) expect(() => loadSafetensors(join(dir, 'checkpoint.safetensors'))).not.toThrow();
  }, 120_000);
});

describe('train --time-limit', () => {
  it('stops with a checkpoint after the given minutes, exits 0 and prints the command that continues the run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-time-limit-'));
    const limited = spawnSync(CLI[0], [...CLI.slice(1), ...TRAIN, '--steps', '100000', '--time-limit', '0.05', '--out', dir], { encoding: 'utf8' });
    expect(limited.status, limited.stderr).toBe(0);
    const at = Number(/the time limit \(0\.05 min\) reached: stopped at step (\d+) of 100000/.exec(limited.stdout)?.[1]);
    expect(at, limited.stdout).toBeGreaterThan(0);
    const checkpoint = join(dir, 'checkpoint.safetensors');
    expect(limited.stdout).toContain(`continue with: npm run mnist -- train --resume ${checkpoint} --time-limit 0.05`);
    expect(loadSafetensors(checkpoint).metadata.step).toBe(String(at));
    const resumed = spawnSync(CLI[0], [...CLI.slice(1), 'train', '--resume', checkpoint, '--steps', String(at + 2), '--time-limit', '5', '--log-every', '100'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(loadSafetensors(checkpoint).metadata.step).toBe(String(at + 2));
    expect(JSON.parse(loadSafetensors(checkpoint).metadata.schedule!)).toEqual({ checkpointEvery: 1000, sampleEvery: 0, evalEvery: 0, evalN: 1000, logEvery: 100 });
    const bad = spawnSync(CLI[0], [...CLI.slice(1), 'train', '--time-limit', '0'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--time-limit must be a positive number of minutes, got '0'");
  }, 120_000);
});

describe('train --resume', () => {
  it('keeps the cadences the run was started with (log, grids, checkpoints), unless given again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-schedule-'));
    const started = spawnSync(CLI[0], [...CLI.slice(1), 'train', '--steps', '2', '--batch', '2', '--sample-every', '3', '--checkpoint-every', '1', '--log-every', '1', '--out', dir], { encoding: 'utf8' });
    expect(started.status, started.stderr).toBe(0);
    const checkpoint = join(dir, 'checkpoint.safetensors');
    const resumed = spawnSync(CLI[0], [...CLI.slice(1), 'train', '--resume', checkpoint, '--steps', '4'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^step 3\/4 loss /m); // --log-every 1, not the progress bar
    expect(existsSync(join(dir, 'samples-step3-1step.png'))).toBe(true); // --sample-every 3
    expect(JSON.parse(loadSafetensors(checkpoint).metadata.schedule!)).toMatchObject({ checkpointEvery: 1, sampleEvery: 3, logEvery: 1 });
    const changed = spawnSync(CLI[0], [...CLI.slice(1), 'train', '--resume', checkpoint, '--steps', '6', '--log-every', '2', '--sample-every', '0'], { encoding: 'utf8' });
    expect(changed.status, changed.stderr).toBe(0);
    expect(changed.stdout).not.toMatch(/^step 5\/6 loss /m);
    expect(changed.stdout).toMatch(/^step 6\/6 loss /m);
    expect(JSON.parse(loadSafetensors(checkpoint).metadata.schedule!)).toMatchObject({ checkpointEvery: 1, sampleEvery: 0, logEvery: 2 });
  }, 120_000);
});
