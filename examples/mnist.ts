// npm run mnist -- [train|sample|classifier|eval|edit|teacher|distill] [flags]: consistency training on
// MNIST (or Fashion-MNIST, or a folder of PNG or JPEG images), sampling, evaluation and editing. The library does the
// work (src/cm, src/data, src/metrics); this file parses flags and prints. `npm run mnist -- --help`.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cm, concat, data, Generator, getBackend, metrics, saveImageGrid, saveSafetensors, setBackend,
  type BackendName,
} from '../src/index';
import { checkClassGuidance, checkFlags, choice, classRange, HELP, int, num, numbers, parseFlags, recipeFlagFiles, recipeOf, recipeSettings, type Flags } from './cli/flags';
import { COMMITTED, ifCommitted } from './cli/committed';
import { existingFile, outputFolder, progressBar } from './cli/io';
import { inTrainerProcess, superviseTrainer, watchSupervisor } from './cli/supervise';
import { reportError, UsageError, withFlag, withFlags } from './cli/report';

/** An example built on these commands: its name (`npm run NAME`), help, commands and defaults. */
export interface App {
  name: string;
  help: string;
  /** The commands it offers (default: all). */
  commands?: string[];
  /** Flags put before the user's on train, teacher and distill (the user's win), unless resuming. */
  trainDefaults?: string[];
  /** Whether sample and edit fall back to the committed MNIST model. */
  committedModel: boolean;
  /** Training needs --dataset naming a folder or file (not mnist or fashion), unless resuming. */
  requireFolder?: boolean;
  out: string;
}

const MNIST: App = { name: 'mnist', help: HELP, committedModel: true, out: 'runs/mnist' };
const committedModel = (app: App, conditional: boolean) => ifCommitted(app.committedModel, conditional ? COMMITTED.modelConditional : COMMITTED.model);
/** The committed files that stand in for a recipe's file flags not given: the teacher, for distillation on MNIST. */
const committedFlagFiles = (app: App, flags: Flags): Record<string, string> => {
  const teacher = ifCommitted(app.committedModel && (flags.dataset ?? 'mnist') === 'mnist', flags['class-conditional'] ? COMMITTED.teacherConditional : COMMITTED.teacher);
  return teacher ? { teacher } : {};
};

function trainer(flags: Flags, recipe: cm.TrainRecipe, app: App): cm.Trainer {
  if (flags.resume) {
    const file = existingFile('resume', flags.resume);
    return withFlag('--resume', file, () => cm.Trainer.resume(file, undefined, flags.steps ? { steps: int('steps', flags.steps) } : {}));
  }
  const rates = numbers('ema', flags.ema);
  const model = choice('model', flags.model, ['simpleunet', 'unet'] as const);
  const config = cm.trainConfig({
    recipe, model: model && ({ simpleunet: 'SimpleUNet', unet: 'UNet' } as const)[model], width: int('width', flags.width),
    batch: int('batch', flags.batch), steps: int('steps', flags.steps), lr: num('lr', flags.lr), seed: int('seed', flags.seed),
    emaRate: rates?.[0], extraEmaRates: rates?.slice(1), cNoiseScale: num('c-noise-scale', flags['c-noise-scale']),
    warmupSteps: int('warmup', flags.warmup), lrDecay: choice('lr-decay', flags['lr-decay'], ['none', 'cosine'] as const),
    maxGradNorm: num('clip', flags.clip) || undefined, init: flags.init && existingFile('init', resolve(flags.init)),
    classConditional: flags['class-conditional'], labelDropout: num('label-dropout', flags['label-dropout']),
    ...recipeSettings(recipe, flags, committedFlagFiles(app, flags)),
  });
  const dataset = withFlag('--dataset', flags.dataset ?? 'mnist', () => data.loadDataset(flags.dataset ?? 'mnist', { channels: int('channels', flags.channels), size: int('size', flags.size) }));
  // a weights file the run reads (--init, --teacher) that does not fit: the error names its flag
  const files = [['init', flags.init], ...recipeFlagFiles(recipe, flags, committedFlagFiles(app, flags))].filter((f): f is [string, string] => typeof f[1] === 'string');
  return withFlags(files, () => new cm.Trainer(config, dataset));
}

async function train(flags: Flags, app: App, recipe: cm.TrainRecipe, command: string): Promise<void> {
  const timeLimit = num('time-limit', flags['time-limit']);
  if (timeLimit !== undefined && !(timeLimit > 0)) throw new UsageError(`--time-limit must be a positive number of minutes, got '${flags['time-limit']}'.`);
  const run = trainer(flags, recipe, app);
  // the cadences: the flags, else those the run was started with (kept in its checkpoint), else the defaults
  const was = run.schedule;
  run.schedule = {
    checkpointEvery: int('checkpoint-every', flags['checkpoint-every'], was.checkpointEvery ?? 100, 1), sampleEvery: int('sample-every', flags['sample-every'], was.sampleEvery ?? 250, 0),
    evalEvery: int('eval-every', flags['eval-every'], was.evalEvery ?? 0, 0), evalN: int('eval-n', flags['eval-n'], was.evalN ?? 1000, 2), logEvery: int('log-every', flags['log-every'], was.logEvery ?? 0, 0),
  };
  const curve = learningCurve(flags, run);
  const outDir = outputFolder(flags.out ?? (flags.resume ? dirname(flags.resume) : app.out));
  const c = run.config, logEvery = run.schedule.logEvery!;
  if (flags.resume) console.log(`resuming ${flags.resume} at step ${run.step} of ${c.steps}`);
  console.log(`training ${c.model ?? 'SimpleUNet'} width ${c.width} (${run.model.parameterCount().toLocaleString()} parameters) on ` +
    `${run.dataset.name} (${run.dataset.count} images), recipe ${c.recipe}, batch ${c.batch}, ${c.steps} steps, lr ${c.lr}, backend ${getBackend().name}`);
  const nName = run.recipe.progress;
  const bar = logEvery ? null : progressBar(`step {value}/{total} [{bar}] loss {loss}${nName ? ` | ${nName} {n}` : ''} | {rate} steps/s | ETA {eta_formatted}`);
  bar?.start(c.steps, run.step, { loss: '-', n: '-', rate: '-' });
  let stopping = false;
  // JavaScript sees a signal only between steps; the process that started this one forwards one
  // signal per key press (cli/supervise.ts): a second press exits when the step returns, without
  // a checkpoint (the last one on disk is whole)
  const onSignal = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    bar?.stop();
    console.error(`${signal}: finishing this step and writing the checkpoint (again to stop without it)`);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  watchSupervisor(() => (stopping = true));
  let smoothed = NaN;
  const result = await cm.runTraining(run, {
    outDir, checkpointEvery: run.schedule.checkpointEvery, sampleEvery: run.schedule.sampleEvery,
    shouldStop: () => stopping, timeLimit: timeLimit && timeLimit * 60, resumedFrom: flags.resume, curve,
    onStep: ({ step, loss, n, rate }) => {
      smoothed = Number.isNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
      bar?.update(step, { loss: smoothed.toFixed(4), n, rate: rate.toFixed(2) });
      if (logEvery && step % logEvery === 0) console.log(`step ${step}/${c.steps} loss ${smoothed.toFixed(4)}${nName ? ` ${nName} ${n}` : ''} ${rate.toFixed(2)} steps/s`);
    },
  }).finally(() => bar?.stop());
  if (result.stopped) {
    const why = result.stoppedBy === 'time-limit' ? `the time limit (${timeLimit} min) reached: ` : '';
    console.log(`${why}stopped at step ${run.step} of ${c.steps}; checkpoint: ${result.checkpoint}\n` +
      `  continue with: npm run ${app.name} -- ${command} --resume ${result.checkpoint}${timeLimit ? ` --time-limit ${timeLimit}` : ''}`);
    if (result.stoppedBy === 'request') process.exit(130);
    return;
  }
  console.log(`\ndone: ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min`);
  console.log(`  checkpoint (resume with --resume): ${result.checkpoint}`);
  console.log(`  EMA weights for sampling:          ${result.exports.join(', ')}`);
  console.log(`  samples:                           ${result.grids.slice(-2).join(', ')}`);
  if (result.grids.length > 2) console.log(`  samples during training:           ${result.grids.length - 2} grids in ${outDir}`);
  if (result.curve) console.log(`  learning curve:                    ${result.curve.file} (its best point's EMA: ${result.curve.best})`);
}

/** --eval-every: the run's learning curve on MNIST (cm.mnistCurve), printed as it is measured. */
function learningCurve(flags: Flags, run: cm.Trainer): cm.CurveOptions | undefined {
  const { evalEvery: every, evalN: n } = run.schedule;
  if (!every || !n) {
    if (flags['eval-n'] || flags.classifier) throw new UsageError(`--${flags['eval-n'] ? 'eval-n' : 'classifier'} sets the learning curve of --eval-every, which is off.`);
    return undefined;
  }
  const curve: ReturnType<typeof cm.mnistCurve> = cm.mnistCurve(run, {
    every, n, classifier: loadClassifierFlag(flags),
    onPoint: (point, seconds) => console.log(`\n${cm.describeCurvePoint(curve, point)} (n = ${n}, measured in ${seconds.toFixed(1)} s)`),
  });
  return curve;
}

function imageSource(flags: Flags, app: App): { source: cm.ImageSource; file: string } {
  const file = existingFile('ckpt', flags.ckpt, committedModel(app, !!(flags.class ?? flags['class-conditional'])), ' (a checkpoint.safetensors or ema.safetensors written by train)');
  const guideWith = flags['guide-with'] && existingFile('guide-with', flags['guide-with']), sigmas = numbers('sigmas', flags.sigmas);
  const files: [string, string][] = guideWith ? [['ckpt', file], ['guide-with', guideWith]] : [['ckpt', file]];
  return { file, source: withFlags(files, () => cm.loadImageSource(file, { steps: int('steps', flags.steps), sigmas, guidance: num('guidance', flags.guidance), guideWith, classGuidance: num('class-guidance', flags['class-guidance']) })) };
}

function sample(flags: Flags, app: App): void {
  const { source } = imageSource(flags, app);
  const classes = classRange(flags.class);
  checkClassGuidance(flags, !!classes, 'give --class K or A-B');
  // a range: a grid row of --n images per class
  const perClass = int('n', flags.n, classes && classes.length > 1 ? 8 : 64, 1)!, seed = int('seed', flags.seed, 0, 0)!;
  const labels = classes?.flatMap((k) => new Array<number>(perClass).fill(k));
  const count = labels?.length ?? perClass;
  const batch = int('batch', flags.batch, cm.defaultSampleBatch(source.shape), 1)!;
  const outDir = outputFolder(flags.out ?? app.out);
  if (flags.raw) outputFolder(dirname(flags.raw), `--raw ${flags.raw}`);
  const started = performance.now();
  const images = source.draw(count, new Generator(seed), batch, labels);
  const seconds = (performance.now() - started) / 1e3;
  const grid = join(outDir, `samples-${source.steps}step-seed${seed}${flags.class ? `-class${flags.class}` : ''}.png`);
  saveImageGrid(grid, images, classes && classes.length > 1 ? perClass : Math.ceil(Math.sqrt(count)));
  const what = classes ? ` of class${classes.length > 1 ? 'es' : ''} ${classes.map((k) => source.classNames?.[k] ?? k).join(', ')}` : '';
  console.log(`${count} samples${what} in ${source.describe} in ${seconds.toFixed(2)} s (batches of ${batch}): ${grid}`);
  if (flags.raw) {
    saveSafetensors(resolve(flags.raw), { samples: images }, { ...source.metadata, seed: String(seed) });
    console.log(`raw samples [${images.shape.join(', ')}] in [-1, 1]: ${resolve(flags.raw)}`);
  }
}

async function classifier(flags: Flags, app: App): Promise<void> {
  const epochs = int('epochs', flags.epochs, 3, 1)!, batch = int('batch', flags.batch, 64, 1)!, seed = int('seed', flags.seed, 0, 0)!;
  const lr = num('lr', flags.lr) ?? 0.002;
  if (!(lr > 0)) throw new UsageError(`--lr must be a positive number, got '${flags.lr}'.`);
  const outDir = outputFolder(flags.out ?? app.out);
  const train = data.loadMnist('train'), test = data.loadMnist('test');
  const steps = epochs * Math.floor(train.count / batch);
  console.log(`training the MNIST classifier: ${epochs} epochs of ${train.count} digits, batch ${batch}, lr ${lr}, backend ${getBackend().name}`);
  const bar = progressBar('step {value}/{total} [{bar}] loss {loss} | {rate} steps/s | ETA {eta_formatted}');
  bar.start(steps, 0, { loss: '-', rate: '-' });
  const started = performance.now();
  let smoothed = NaN, step = 0;
  const model = await metrics.trainClassifier(train, {
    epochs, batch, lr, seed,
    onStep: (_, loss) => {
      smoothed = Number.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
      bar.update(++step, { loss: smoothed.toFixed(4), rate: (step / ((performance.now() - started) / 1e3)).toFixed(2) });
    },
  }).finally(() => bar.stop());
  const minutes = (performance.now() - started) / 60e3;
  const acc = metrics.accuracy(metrics.classify(model, test.images, test.count).probabilities, test.labels!);
  const file = join(outDir, 'classifier.safetensors');
  metrics.saveClassifier(file, model, { epochs, batch, lr, seed, testAccuracy: acc, minutes, backend: getBackend().name });
  console.log(`test accuracy ${(acc * 100).toFixed(2)}% on ${test.count} MNIST test digits (${minutes.toFixed(1)} min of training)\nweights: ${file}`);
}

function evaluate(flags: Flags, app: App): void {
  const started = performance.now();
  const n = int('n', flags.n, 10_000, 2)!, seed = int('seed', flags.seed, 0, 0)!;
  const model = loadClassifierFlag(flags);
  const picked = flags.real ? null : imageSource(flags, app);
  checkClassGuidance(flags, !!flags['class-conditional'], 'add --class-conditional');
  const tty = !flags.json && process.stdout.isTTY;
  if (flags['class-conditional'] && !picked?.source.numClasses) throw new UsageError(`--class-conditional needs a class-conditional model; ${picked?.file ?? '--real'} is not one.`);
  if (flags['class-conditional'] && picked!.source.classNames?.join() !== '0,1,2,3,4,5,6,7,8,9') {
    throw new UsageError(`--class-conditional measures the digits 0-9; the classes of ${picked!.file} are ${picked!.source.classNames?.join(', ')}.`);
  }
  const labels = flags['class-conditional'] ? Array.from({ length: n }, (_, i) => i % 10) : undefined;
  const result = metrics.evaluateMnist(picked?.source ?? null, {
    classifier: model, n, seed, batch: int('batch', flags.batch, 250, 1), labels,
    onProgress: tty ? (done, total) => process.stdout.write(`\rsampled ${done}/${total}`) : undefined,
  });
  if (tty) process.stdout.write('\n');
  const { samples: m, realTrainVsTest: real } = result, seconds = (performance.now() - started) / 1e3, steps = picked?.source.steps ?? 0;
  if (flags.json) {
    console.log(JSON.stringify({
      fd: m.fd, n, steps, confidence: m.confidence, class_entropy: m.classEntropy, seconds, fd_real_train_vs_test: real.fd,
      missing_classes: m.missingClasses, class_counts: m.classCounts, ...(labels ? { class_agreement: result.classAgreement } : {}),
    }));
    return;
  }
  const lines: [string, string | false][] = [
    ['FD (classifier features)', m.fd.toFixed(3)],
    [`FD of ${n} real training digits`, `${real.fd.toFixed(3)}   (the floor: same distribution, finite n)`],
    ['confidence', m.confidence.toFixed(4)],
    ['class entropy', `${m.classEntropy.toFixed(3)} bits (uniform: 3.322); counts ${m.classCounts.join(' ')}`],
    ['missing classes', m.missingClasses.length ? m.missingClasses.join(', ') : 'none'],
    ['agreement with the class asked', !!labels && `${result.classAgreement!.toFixed(4)} (the classifier's class = the requested one)`],
    ['time', `${seconds.toFixed(1)} s`],
  ];
  console.log(`${picked ? `${n} samples, ${steps} step(s), of ${picked.file}` : `${n} real training digits`}, against the 10000 MNIST test digits:`);
  for (const [what, value] of lines) if (value !== false) console.log(`  ${what.padEnd(31)} ${value}`);
}

/** The classifier of --classifier, or the committed one. */
function loadClassifierFlag(flags: Flags): metrics.MnistClassifier {
  const file = existingFile('classifier', flags.classifier && resolve(flags.classifier), COMMITTED.classifier, ' (train one with `npm run mnist -- classifier`)');
  return withFlag('--classifier', file, () => metrics.loadClassifier(file));
}

function edit(flags: Flags, app: App): void {
  const task = choice('task', flags.task, cm.EDIT_TASKS);
  if (!task) throw new UsageError(`edit needs --task, one of ${cm.EDIT_TASKS.join(', ')}.`);
  const file = existingFile('ckpt', flags.ckpt, committedModel(app, flags.class !== undefined));
  const model = withFlag('--ckpt', file, () => cm.loadConsistencyModel(file));
  const n = int('n', flags.n, 8, 1)!, seed = int('seed', flags.seed, 0, 0)!, generator = new Generator(seed);
  const [channels, size] = model.shape;
  const outDir = outputFolder(flags.out ?? app.out);
  // the originals: images of --dataset DIR if given, test digits for a 1x32x32 model, else the model's own samples
  const dataset = () => flags.dataset && flags.dataset !== 'mnist' ? withFlag('--dataset', flags.dataset, () => data.loadDataset(flags.dataset!, { channels, size }))
    : channels === 1 && size === 32 ? data.loadMnist('test') : null;
  const originals = cm.editOriginals(task, model, dataset, n, seed, generator);
  const started = performance.now();
  const cls = classRange(flags.class);
  if (cls && (cls.length !== 1 || !model.numClasses || cls[0]! >= model.numClasses)) {
    throw new UsageError(`--class ${flags.class}: ${model.numClasses ? `edit takes one class of 0..${model.numClasses - 1}` : `${file} is not class-conditional`}.`);
  }
  const { rows, columns } = cm.runEditTask(task, model, originals, {
    generator, sigmas: numbers('sigmas', flags.sigmas), batch: int('batch', flags.batch, undefined, 1), pairs: n,
    labels: cls && new Array<number>(task === 'interpolate' ? n : originals?.shape[0] ?? n).fill(cls[0]!),
  });
  const seconds = (performance.now() - started) / 1e3;
  const out = join(outDir, `edit-${task}.png`);
  saveImageGrid(out, concat(rows, 0), columns);
  console.log(task === 'interpolate'
    ? `${n} interpolations of ${columns} points in ${seconds.toFixed(1)} s: ${out} (one row per pair of latents)`
    : `${task} of ${columns} images in ${seconds.toFixed(1)} s: ${out} (rows: originals, the model's input, results)`);
}

const COMMANDS: Record<string, (flags: Flags, app: App) => void | Promise<void>> = {
  // checkFlags has refused an unknown --recipe
  ...Object.fromEntries(['train', 'teacher', 'distill'].map((command) => [command, (f: Flags, app: App) => train(f, app, recipeOf(command, f.recipe), command)])),
  sample, classifier, eval: evaluate, edit,
};

async function main(argv: string[], app: App): Promise<void> {
  const offered = app.commands ?? Object.keys(COMMANDS);
  const given = parseFlags(argv);
  const command = given.positionals[0] ?? 'train';
  const training = ['train', 'teacher', 'distill'].includes(command);
  const { values: flags, positionals } = training && !given.values.resume && app.trainDefaults ? parseFlags([...app.trainDefaults, ...argv]) : given;
  if (flags.help) return console.log(app.help);
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}.`);
  if (!offered.includes(command)) throw new UsageError(`unknown command '${command}'; use ${offered.join(', ')}.`);
  checkFlags(command, flags);
  if (training && !flags.resume && app.requireFolder && (!flags.dataset || data.isBuiltInDataset(flags.dataset))) {
    throw new UsageError(`${app.name} trains on a folder of labelled images: give --dataset DIR (one subfolder of PNG or JPEG images per class)${flags.dataset ? `, not ${flags.dataset}` : ''}.`);
  }
  // the trainer runs in a process of its own, so Ctrl-C in a terminal ends with a checkpoint
  if (training && !inTrainerProcess()) return void (process.exitCode = await superviseTrainer());
  const backend = flags.backend ?? (process.env.ONESTEP_BACKEND || 'cpu');
  try {
    setBackend(backend as BackendName);
  } catch (e) {
    throw new UsageError(`--backend ${backend}: ${(e as Error).message}`);
  }
  await COMMANDS[command]!(flags, app);
}

/** Runs the commands of `which` (default: this MNIST example) on argv; exits with the error's code on failure. */
export async function runApp(argv: string[], app: App = MNIST): Promise<void> {
  const debug = argv.includes('--debug') || process.env.ONESTEP_DEBUG === '1';
  await main(argv, app).catch((e: unknown) => process.exit(reportError(e, debug, app.name)));
}

// run only as the entry point (imagenet9.ts imports runApp); real paths, so a symlinked checkout runs too
const entry = process.argv[1] && existsSync(process.argv[1]) ? realpathSync(process.argv[1]) : '';
if (entry === realpathSync(fileURLToPath(import.meta.url))) await runApp(process.argv.slice(2));
