// npm run mnist -- [train|sample|classifier|eval|edit] [flags]: consistency training on MNIST (or Fashion-MNIST, or a
// folder of PNGs) and sampling from a checkpoint. `npm run mnist -- --help` lists every flag.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import {
  cm, concat, data, Generator, getBackend, loadSafetensors, metrics, randn, saveImageGrid, saveSafetensors, setBackend, tensor,
  type BackendName, type Tensor,
} from '../src/index';

const HELP = `onestep MNIST example: consistency training from data alone, and one-step sampling.

  npm run mnist -- train [flags]      train (the default command)
  npm run mnist -- sample --ckpt FILE [flags]
  npm run mnist -- classifier [flags] train the MNIST classifier that eval measures with
  npm run mnist -- eval --ckpt FILE [flags]   sample quality: Frechet distance in the
                                      classifier's features, confidence, class spread
  npm run mnist -- edit --task T [flags]      zero-shot editing with a consistency model
  npm run mnist -- teacher [train flags]      train an EDM teacher (denoiser) for distillation
  npm run mnist -- distill --teacher FILE [train flags]   consistency distillation

train flags
  --dataset NAME           mnist, fashion (Fashion-MNIST) or a folder of PNG images  [mnist]
  --channels 1|3           for a folder: grey or RGB (images are resized to 32x32)  [1]
  --model NAME             simpleunet (the community model) or unet (ADM-style: channel
                           multipliers 1,2,2, one ResBlock per level, attention at 16x16,
                           dropout 0.1; not with recipe seed)                      [simpleunet]
  --recipe ict|ect|seed    ict: improved CT (official parametrization, pseudo-Huber, lognormal
                           levels, doubling curriculum); ect: easy consistency tuning from
                           scratch (starts as denoising, then halves the gap between the two
                           noise levels --ect-stages times); seed: the community recipe [ict]
  --steps N                optimiser steps                       [ict: 1800, others: 1000]
  --batch N                images per step                                          [32]
  --width D                base width (SimpleUNet D, UNet model channels), a multiple of 32 [32]
  --lr X                   AdamW learning rate                                      [0.0006]
  --ema X[,Y...]           EMA rates of the weights kept for sampling; the first is used
                           for the grids and ema.safetensors, each other one is exported
                           as ema-RATE.safetensors                                  [0.995]
  --warmup N               linear learning-rate warm-up over N steps                [0]
  --lr-decay none|cosine   decay the learning rate to 0 over the run (cosine)
                                                          [ict: cosine, others: none]
  --clip X                 clip gradients to global norm X (0: off)                 [0]
  --c-noise-scale X        time input = X ln(sigma) under the official parametrization [250]
  --max-intervals N        ict: the curriculum's cap on the number of intervals (the
                           paper's 1280 is for long runs; 40 learns faster in short ones) [40]
  --ect-stages N           ect: stages of the run (the gap halves at each)           [6]
  --seed N                 seeds initialisation, batch order and noise              [0]
  --out DIR                where checkpoints and sample grids go                    [runs/mnist]
  --resume FILE            continue the run saved in FILE (a checkpoint.safetensors)
  --sample-every N         write sample grids every N steps (0: only at the end)    [250]
  --checkpoint-every N     write the checkpoint every N steps                       [100]
  --backend NAME           cpu, cpu-reference, webgpu, webasm, gpujs-cpu or auto    [cpu]
                           (also ONESTEP_BACKEND; auto: WebGPU on a real GPU, else cpu)

sample flags
  --ckpt FILE              a training checkpoint or exported weights
                           [examples/checkpoints/mnist-simpleunet-d32.safetensors]
  --n N                    how many images                                          [64]
  --steps K                1 (one step), 2 (80 -> 0.8) or 5 (80, 40, 20, 10, 5)     [1]
  --sigmas A,B,...         explicit decreasing noise levels (overrides --steps)
  --seed N                 sampling seed                                            [0]
  --out DIR                where the grid goes                                      [runs/mnist]
  --raw FILE               also write the samples as one safetensors tensor 'samples' [N, C, H, W] in [-1, 1]

classifier flags
  --epochs N               passes over the 60,000 training digits                   [3]
  --batch N                images per step                                          [64]
  --lr X                   AdamW learning rate (cosine-decayed to 0)                [0.002]
  --seed N                 initialisation and batch order                           [0]
  --out DIR                writes DIR/classifier.safetensors                        [runs/mnist]

eval flags
  --ckpt FILE              the consistency model, as for sample [the committed checkpoint]
  --n N                    samples to generate and measure                          [10000]
  --steps K, --sigmas      the sampler, as for sample                               [1]
  --seed N                 sampling seed                                            [0]
  --classifier FILE        [examples/checkpoints/mnist-classifier.safetensors]
  --real                   measure N real training digits instead of samples (the sanity
                           check: FD near 0)
  --json                   print the metrics as one JSON line

edit flags
  --task NAME              inpaint (the lower half), superres (from 4x4 block means),
                           denoise (Gaussian noise of std 0.5), interpolate (slerp between
                           two latents, 8 points), colorize (RGB models: from the luminance)
  --ckpt FILE              the consistency model [the committed checkpoint]
  --n N                    how many images (pairs for interpolate)                  [8]
  --sigmas A,B,...         the editing loop's noise levels        [80,40,20,10,5,2.5,1.25,0.6]
  --seed N                 which test digits, and the sampler's noise               [0]
  --dataset DIR            take the originals from a folder of PNGs (RGB models: else
                           the model's own samples)                      [MNIST test digits]
  --out DIR                writes DIR/edit-TASK.png: originals, inputs, results     [runs/mnist]

teacher: the train flags; trains the EDM denoiser (lognormal noise levels, EDM's loss weight)
  and writes DIR/teacher.safetensors and grids of its Heun sampler at 18 and 40 steps. sample
  and eval read teacher files too: --steps N is then the number of Heun steps [18].
distill: the train flags, and
  --teacher FILE           the EDM teacher (required); the student starts from its weights
  --intervals N            N, the Karras grid's levels (official: 18 CIFAR-10, 40 ImageNet) [18]
  --target-ema X           the target network's fixed EMA rate mu (official: 0 / 0.95)  [0.95]
  --lr X                   as for train, but                                        [0.0001]
                           (lr 6e-4 with mu 0 diverged here within 300 steps)
  --distance NAME          l2, l1 or pseudo-huber                                   [pseudo-huber]
`;

const STEP_LEVELS: Record<number, number[]> = { 1: [80], 2: [80, 0.8], 5: [80, 40, 20, 10, 5] };

function fail(message: string): never {
  console.error(`error: ${message}\nRun \`npm run mnist -- --help\` for the flags.`);
  process.exit(2);
}

/** Runs fn; an error it throws (a bad file, a mismatched teacher) becomes a clean exit with its message. */
function orFail<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    return fail((e as Error).message);
  }
}

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got '${value}'.`);
  return n;
}

function num(name: string, value: string | undefined, ok: (x: number) => boolean, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || !ok(n)) fail(`--${name} must be ${what}, got '${value}'.`);
  return n;
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        dataset: { type: 'string', default: 'mnist' },
        channels: { type: 'string', default: '1' },
        model: { type: 'string', default: 'simpleunet' },
        recipe: { type: 'string', default: 'ict' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        width: { type: 'string', default: '32' },
        lr: { type: 'string' },
        ema: { type: 'string', default: '0.995' },
        warmup: { type: 'string', default: '0' },
        'lr-decay': { type: 'string' },
        clip: { type: 'string', default: '0' },
        'c-noise-scale': { type: 'string', default: String(cm.DEFAULT_C_NOISE_SCALE) },
        'max-intervals': { type: 'string', default: '40' },
        'ect-stages': { type: 'string', default: String(cm.DEFAULT_ECT_STAGES) },
        seed: { type: 'string', default: '0' },
        out: { type: 'string', default: 'runs/mnist' },
        resume: { type: 'string' },
        'sample-every': { type: 'string', default: '250' },
        'checkpoint-every': { type: 'string', default: '100' },
        backend: { type: 'string', default: process.env.ONESTEP_BACKEND || 'cpu' },
        ckpt: { type: 'string' },
        n: { type: 'string' },
        epochs: { type: 'string', default: '3' },
        classifier: { type: 'string' },
        real: { type: 'boolean', default: false },
        task: { type: 'string' },
        teacher: { type: 'string' },
        intervals: { type: 'string', default: '18' },
        'target-ema': { type: 'string', default: '0.95' },
        distance: { type: 'string', default: 'pseudo-huber' },
        json: { type: 'boolean', default: false },
        sigmas: { type: 'string' },
        raw: { type: 'string' },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
}

function writeGrids(trainer: cm.Trainer, outDir: string, tag: string): string[] {
  if (trainer.config.recipe === 'edm') {
    const heun = [join(outDir, `samples-${tag}-heun18.png`), join(outDir, `samples-${tag}-heun40.png`)];
    saveImageGrid(heun[0]!, trainer.sample(64, 0, undefined, 18), 8);
    saveImageGrid(heun[1]!, trainer.sample(64, 0, undefined, 40), 8);
    return heun;
  }
  const paths = [join(outDir, `samples-${tag}-1step.png`), join(outDir, `samples-${tag}-2step.png`)];
  saveImageGrid(paths[0]!, trainer.sample(64, 0), 8);
  saveImageGrid(paths[1]!, trainer.sample(64, 0, STEP_LEVELS[2]), 8);
  return paths;
}

/** mnist, fashion, or a folder of PNGs (as `folder:DIR` in checkpoints). */
function loadDataset(spec: string, channels: number): data.ImageDataset {
  if (spec === 'mnist' || spec === 'mnist-train') return data.loadMnist('train');
  if (spec === 'fashion' || spec === 'fashion-mnist') return data.loadFashionMnist();
  const dir = spec.startsWith('folder:') ? spec.slice('folder:'.length) : spec;
  if (!existsSync(dir)) fail(`--dataset '${spec}' is neither mnist, fashion nor an existing folder of PNG images.`);
  if (channels !== 1 && channels !== 3) fail(`--channels must be 1 or 3, got ${channels}.`);
  return data.loadImageFolder(resolve(dir), { size: 32, channels: channels as 1 | 3 });
}

async function train(values: ReturnType<typeof parse>['values'], forced?: 'edm' | 'cd'): Promise<void> {
  const outDir = resolve(values.out!);
  mkdirSync(outDir, { recursive: true });
  let trainer: cm.Trainer;
  if (values.resume) {
    if (!existsSync(values.resume)) fail(`--resume ${values.resume}: no such file.`);
    const saved = loadSafetensors(values.resume).metadata;
    const dataset = loadDataset(saved.dataset ?? 'mnist', Number(saved.channels ?? 1));
    trainer = orFail(() => cm.Trainer.resume(values.resume!, dataset, values.steps ? { steps: int('steps', values.steps, 1) } : {}));
    console.log(`resuming ${values.resume} at step ${trainer.step} of ${trainer.config.steps}`);
  } else {
    const dataset = loadDataset(values.dataset!, int('channels', values.channels, 1));
    const recipe = forced ?? values.recipe;
    if (recipe !== 'ict' && recipe !== 'ect' && recipe !== 'seed' && recipe !== 'edm' && recipe !== 'cd') fail(`--recipe must be 'ict', 'ect' or 'seed', got '${recipe}'.`);
    if (recipe === 'cd' && !values.teacher) fail('distill needs --teacher FILE (train one with `npm run mnist -- teacher`).');
    if (recipe === 'cd' && !existsSync(values.teacher!)) fail(`--teacher ${values.teacher}: no such file.`);
    const distance = values.distance as cm.Distance;
    if (!['l2', 'l1', 'pseudo-huber'].includes(distance)) fail(`--distance must be l2, l1 or pseudo-huber, got '${values.distance}'.`);
    const model = ({ simpleunet: 'SimpleUNet', unet: 'UNet' } as const)[values.model as 'simpleunet' | 'unet'];
    if (!model) fail(`--model must be 'simpleunet' or 'unet', got '${values.model}'.`);
    if (model === 'UNet' && recipe === 'seed') fail("--model unet has no community parametrization: use --recipe ict (or teacher / distill).");
    const width = int('width', values.width, 32);
    if (width % 32 !== 0) fail(`--width must be a multiple of 32 (GroupNorm uses 32 groups), got ${width}.`);
    trainer = orFail(() => new cm.Trainer({
      recipe,
      model,
      width,
      batch: int('batch', values.batch ?? '32', 1),
      steps: int('steps', values.steps ?? (recipe === 'ict' ? '1800' : '1000'), 1),
      lr: num('lr', values.lr ?? (recipe === 'cd' ? '0.0001' : '0.0006'), (x) => x > 0, 'a positive number'),
      seed: int('seed', values.seed, 0),
      ...(() => {
        const rates = values.ema!.split(',').map((r) => num('ema', r, (x) => x >= 0 && x < 1, 'rates in [0, 1)'));
        return { emaRate: rates[0]!, extraEmaRates: rates.slice(1) };
      })(),
      cNoiseScale: num('c-noise-scale', values['c-noise-scale'], (x) => x > 0, 'a positive number'),
      maxIntervals: int('max-intervals', values['max-intervals'], 10),
      ectStages: int('ect-stages', values['ect-stages'], 1),
      warmupSteps: int('warmup', values.warmup, 0),
      lrDecay: ((d) => (d === 'none' || d === 'cosine' ? d : fail(`--lr-decay must be 'none' or 'cosine', got '${d}'.`)))(values['lr-decay'] ?? (recipe === 'ict' ? 'cosine' : 'none')),
      maxGradNorm: num('clip', values.clip, (x) => x >= 0, 'a number >= 0') || undefined,
      ...(recipe === 'cd'
        ? {
          teacher: resolve(values.teacher!), intervals: int('intervals', values.intervals, 2), distance,
          targetEma: num('target-ema', values['target-ema'], (x) => x >= 0 && x < 1, 'a rate in [0, 1)'),
        }
        : {}),
    }, dataset));
  }
  const sampleEvery = int('sample-every', values['sample-every'], 0);
  const checkpointEvery = int('checkpoint-every', values['checkpoint-every'], 1);
  const checkpoint = join(outDir, 'checkpoint.safetensors');
  const c = trainer.config, dataset = trainer.dataset;
  console.log(
    `training ${c.model ?? 'SimpleUNet'} width ${c.width} (${trainer.model.parameterCount().toLocaleString()} parameters) on ${dataset.name} ` +
      `(${dataset.count} images), recipe ${c.recipe}, batch ${c.batch}, ${c.steps} steps, lr ${c.lr}, backend ${getBackend().name}`,
  );
  const bar = new cliProgress.SingleBar({
    format: `step {value}/{total} [{bar}] loss {loss} | ${c.recipe === 'ect' ? 'stage' : 'N'} {n} | {rate} steps/s | ETA {eta_formatted}`,
    hideCursor: true,
    etaBuffer: 50,
    noTTYOutput: true, // in logs and CI: one progress line every 10 s
    notTTYSchedule: 10_000,
  }, cliProgress.Presets.shades_classic);
  bar.start(c.steps, trainer.step, { loss: '-', n: '-', rate: '-' });
  const started = performance.now(), startStep = trainer.step;
  let smoothed = NaN;
  const grids: string[] = [];
  while (trainer.step < c.steps) {
    // yield to the event loop once per step: the progress bar redraws on a timer, and Ctrl-C gets through
    await new Promise((done) => setImmediate(done));
    const { loss, n } = trainer.trainStep();
    if (!Number.isFinite(loss)) {
      bar.stop();
      fail(`the loss became ${loss} at step ${trainer.step}; the last good checkpoint is ${checkpoint}. Try a lower --lr.`);
    }
    smoothed = Number.isNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
    const rate = (trainer.step - startStep) / ((performance.now() - started) / 1e3);
    bar.update(trainer.step, { loss: smoothed.toFixed(4), n, rate: rate.toFixed(2) });
    if (trainer.step % checkpointEvery === 0 || trainer.step === c.steps) trainer.save(checkpoint);
    if (sampleEvery > 0 && trainer.step % sampleEvery === 0 && trainer.step < c.steps) grids.push(...writeGrids(trainer, outDir, `step${trainer.step}`));
  }
  bar.stop();
  const exported = join(outDir, c.recipe === 'edm' ? 'teacher.safetensors' : 'ema.safetensors');
  trainer.save(checkpoint);
  trainer.exportEma(exported);
  const extraExports = (c.extraEmaRates ?? []).map((rate) => {
    const path = join(outDir, `ema-${rate}.safetensors`);
    trainer.exportEma(path, rate);
    return path;
  });
  const finalGrids = writeGrids(trainer, outDir, 'final');
  const minutes = (performance.now() - started) / 60e3;
  console.log(`\ndone: ${trainer.step - startStep} steps in ${minutes.toFixed(1)} min`);
  console.log(`  checkpoint (resume with --resume): ${checkpoint}`);
  console.log(`  EMA weights for sampling:          ${[exported, ...extraExports].join(', ')}`);
  console.log(`  samples, ${c.recipe === 'edm' ? '18 and 40 Heun steps' : '1 and 2 steps'}:${c.recipe === 'edm' ? '' : '      '}     ${finalGrids.join(', ')}`);
  if (grids.length) console.log(`  samples during training:           ${grids.length} grids in ${outDir}`);
}

const COMMITTED_CHECKPOINT = fileURLToPath(new URL('./checkpoints/mnist-simpleunet-d32.safetensors', import.meta.url));

function sampleCommand(values: ReturnType<typeof parse>['values']): void {
  values.ckpt ??= existsSync(COMMITTED_CHECKPOINT) ? COMMITTED_CHECKPOINT : undefined;
  if (!values.ckpt) fail('sample needs --ckpt FILE (a checkpoint.safetensors or ema.safetensors written by train).');
  if (!existsSync(values.ckpt)) fail(`--ckpt ${values.ckpt}: no such file.`);
  const count = int('n', values.n ?? '64', 1);
  const seed = int('seed', values.seed, 0);
  const source = loadImageSource(values.ckpt, values);
  const started = performance.now();
  const images = source.draw(count, new Generator(seed));
  const seconds = (performance.now() - started) / 1e3;
  const outDir = resolve(values.out!);
  const grid = join(outDir, `samples-${source.steps}step-seed${seed}.png`);
  saveImageGrid(grid, images, Math.ceil(Math.sqrt(count)));
  console.log(`${count} samples in ${source.describe} in ${seconds.toFixed(2)} s: ${grid}`);
  if (values.raw) {
    saveSafetensors(resolve(values.raw), { samples: images }, { ...source.metadata, seed: String(seed) });
    console.log(`raw samples [${images.shape.join(', ')}] in [-1, 1]: ${resolve(values.raw)}`);
  }
}

function parseSigmas(list: string): number[] {
  return list.split(',').map((s) => num('sigmas', s, (x) => x > cm.SIGMA_MIN && x <= cm.SIGMA_MAX, `levels in (${cm.SIGMA_MIN}, ${cm.SIGMA_MAX}]`));
}

/** The noise levels of --sigmas, or the default levels of --steps. */
function samplerLevels(values: ReturnType<typeof parse>['values']): number[] {
  if (values.sigmas) return parseSigmas(values.sigmas);
  const steps = int('steps', values.steps ?? '1', 1);
  if (!STEP_LEVELS[steps]) fail(`--steps ${steps} has no default noise levels; use 1, 2 or 5, or give --sigmas.`);
  return STEP_LEVELS[steps]!;
}

/** What sample and eval draw images from: a consistency model (its noise levels) or an EDM teacher (Heun steps). */
interface ImageSource {
  shape: [number, number, number];
  metadata: Record<string, string>;
  /** Sampler steps: noise levels of a consistency model, Heun steps of a teacher. */
  steps: number;
  describe: string;
  draw(count: number, generator: Generator): Tensor;
}

function loadImageSource(path: string, values: ReturnType<typeof parse>['values']): ImageSource {
  if (cm.isTeacherFile(path)) {
    const teacher = cm.loadTeacher(path);
    const steps = int('steps', values.steps ?? '18', 2);
    return {
      shape: teacher.shape, metadata: teacher.metadata, steps, describe: `${steps} Heun steps of the EDM teacher`,
      draw: (count, generator) => cm.edmSample(teacher.denoiser, { count, shape: teacher.shape, generator, steps }),
    };
  }
  const loaded = cm.loadConsistencyModel(path);
  const sigmas = samplerLevels(values);
  return {
    shape: loaded.shape, metadata: { ...loaded.metadata, sigmas: sigmas.join(',') }, steps: sigmas.length,
    describe: `${sigmas.length} step(s) (levels ${sigmas.join(', ')})`,
    draw: (count, generator) => cm.sample(loaded.f, { count, shape: loaded.shape, generator, sigmas }),
  };
}

const COMMITTED_CLASSIFIER = fileURLToPath(new URL('./checkpoints/mnist-classifier.safetensors', import.meta.url));

async function classifierCommand(values: ReturnType<typeof parse>['values']): Promise<void> {
  const epochs = int('epochs', values.epochs, 1), batch = int('batch', values.batch ?? '64', 1);
  const lr = num('lr', values.lr ?? '0.002', (x) => x > 0, 'a positive number'), seed = int('seed', values.seed, 0);
  const outDir = resolve(values.out!);
  mkdirSync(outDir, { recursive: true });
  const train = data.loadMnist('train'), test = data.loadMnist('test');
  const steps = epochs * Math.floor(train.count / batch);
  console.log(`training the MNIST classifier: ${epochs} epochs of ${train.count} digits, batch ${batch}, lr ${lr}, backend ${getBackend().name}`);
  const bar = new cliProgress.SingleBar({
    format: 'step {value}/{total} [{bar}] loss {loss} | {rate} steps/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 100,
    noTTYOutput: true, notTTYSchedule: 10_000,
  }, cliProgress.Presets.shades_classic);
  bar.start(steps, 0, { loss: '-', rate: '-' });
  const started = performance.now();
  let smoothed = NaN, step = 0;
  const model = await metrics.trainClassifier(train, {
    epochs, batch, lr, seed,
    onStep: (_, loss) => {
      smoothed = Number.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
      step++;
      bar.update(step, { loss: smoothed.toFixed(4), rate: (step / ((performance.now() - started) / 1e3)).toFixed(2) });
    },
  });
  bar.stop();
  const minutes = (performance.now() - started) / 60e3;
  const out = metrics.classify(model, test.images, test.count);
  const acc = metrics.accuracy(out.probabilities, test.labels!);
  const file = join(outDir, 'classifier.safetensors');
  saveSafetensors(file, model.stateDict(), {
    model: 'MnistClassifier', epochs: String(epochs), batch: String(batch), lr: String(lr), seed: String(seed),
    test_accuracy: acc.toFixed(4), minutes: minutes.toFixed(1), backend: getBackend().name,
  });
  console.log(`test accuracy ${(acc * 100).toFixed(2)}% on ${test.count} MNIST test digits (${minutes.toFixed(1)} min of training)`);
  console.log(`weights: ${file}`);
}

function loadClassifier(path: string): metrics.MnistClassifier {
  if (!existsSync(path)) fail(`--classifier ${path}: no such file (train one with \`npm run mnist -- classifier\`).`);
  const model = new metrics.MnistClassifier();
  model.loadStateDict(loadSafetensors(path).tensors);
  return model.eval();
}

function evalCommand(values: ReturnType<typeof parse>['values']): void {
  const started = performance.now();
  const n = int('n', values.n ?? '10000', 2);
  const seed = int('seed', values.seed, 0);
  const classifier = loadClassifier(resolve(values.classifier ?? COMMITTED_CLASSIFIER));
  const test = data.loadMnist('test'), train = data.loadMnist('train');
  if (n > train.count) fail(`--n must be at most ${train.count} (the training digits the reference FD uses).`);
  const reference = metrics.featureStats(metrics.classify(classifier, test.images, test.count));
  // the sanity reference: n real training digits (a seeded choice) against the test set
  const pick = Array.from(new data.BatchSampler(train.count, n, seed).next());
  const realImages = data.gatherImages(train, pick).toArray() as Float32Array;
  const real = metrics.sampleQuality(metrics.classify(classifier, realImages, n), reference);
  let measured = real, steps = 0;
  if (!values.real) {
    values.ckpt ??= existsSync(COMMITTED_CHECKPOINT) ? COMMITTED_CHECKPOINT : undefined;
    if (!values.ckpt || !existsSync(values.ckpt)) fail(`--ckpt ${values.ckpt ?? ''}: no such file.`);
    const source = loadImageSource(values.ckpt, values);
    if (source.shape.join('x') !== '1x32x32') fail(`eval measures 1x32x32 digits; ${values.ckpt} makes ${source.shape.join('x')} images.`);
    steps = source.steps;
    const generator = new Generator(seed);
    const images = new Float32Array(n * 1024);
    for (let start = 0; start < n; start += 250) {
      const count = Math.min(250, n - start);
      const batch = source.draw(count, generator);
      images.set(batch.toArray(), start * 1024);
      batch.dispose();
      if (!values.json && process.stdout.isTTY) process.stdout.write(`\rsampled ${start + count}/${n}`);
    }
    if (!values.json && process.stdout.isTTY) process.stdout.write('\n');
    measured = metrics.sampleQuality(metrics.classify(classifier, images, n), reference);
  }
  const seconds = (performance.now() - started) / 1e3;
  const result = {
    fd: measured.fd, n, steps, confidence: measured.confidence, class_entropy: measured.classEntropy, seconds,
    fd_real_train_vs_test: real.fd, missing_classes: measured.missingClasses, class_counts: measured.classCounts,
  };
  if (values.json) {
    console.log(JSON.stringify(result));
    return;
  }
  const what = values.real ? `${n} real training digits` : `${n} samples, ${steps} step(s), of ${values.ckpt}`;
  console.log(`${what}, against the ${test.count} MNIST test digits:`);
  console.log(`  FD (classifier features)        ${measured.fd.toFixed(3)}`);
  console.log(`  FD of ${n} real training digits ${real.fd.toFixed(3)}   (the floor: same distribution, finite n)`);
  console.log(`  confidence                      ${measured.confidence.toFixed(4)}`);
  console.log(`  class entropy                   ${measured.classEntropy.toFixed(3)} bits (uniform: 3.322); counts ${measured.classCounts.join(' ')}`);
  console.log(`  missing classes                 ${measured.missingClasses.length ? measured.missingClasses.join(', ') : 'none'}`);
  console.log(`  time                            ${seconds.toFixed(1)} s`);
}

const EDIT_TASKS = ['inpaint', 'superres', 'denoise', 'interpolate', 'colorize'] as const;

function editCommand(values: ReturnType<typeof parse>['values']): void {
  const task = values.task as (typeof EDIT_TASKS)[number];
  if (!EDIT_TASKS.includes(task)) fail(`--task must be one of ${EDIT_TASKS.join(', ')}, got '${values.task ?? ''}'.`);
  values.ckpt ??= existsSync(COMMITTED_CHECKPOINT) ? COMMITTED_CHECKPOINT : undefined;
  if (!values.ckpt || !existsSync(values.ckpt)) fail(`--ckpt ${values.ckpt ?? ''}: no such file.`);
  const n = int('n', values.n ?? '8', 1), seed = int('seed', values.seed, 0);
  const sigmas = values.sigmas ? parseSigmas(values.sigmas) : cm.EDIT_SIGMAS;
  const loaded = cm.loadConsistencyModel(values.ckpt);
  const [channels, size] = loaded.shape;
  const generator = new Generator(seed);
  if (task === 'colorize' && channels !== 3) {
    fail(`colorize needs an RGB model; ${values.ckpt} makes ${channels}-channel images (train one with --dataset DIR --channels 3).`);
  }
  // the originals: images of --dataset DIR if given, test digits for a 1x32x32 model, else the model's own samples
  const folder = values.dataset && values.dataset !== 'mnist' ? loadDataset(values.dataset, channels) : null;
  const pick = (ds: data.ImageDataset) => data.gatherImages(ds, Array.from(new data.BatchSampler(ds.count, Math.min(n, ds.count), seed).next()));
  const originals = folder
    ? pick(folder)
    : channels === 1 && size === 32
      ? pick(data.loadMnist('test'))
      : cm.sample(loaded.f, { count: n, shape: loaded.shape, generator, sigmas: STEP_LEVELS[2] });
  const started = performance.now();
  let rows: Tensor[];
  if (task === 'inpaint') {
    const mask = tensor(Array.from({ length: size * size }, (_, i) => (Math.floor(i / size) < size / 2 ? 1 : 0)), { shape: [1, 1, size, size] });
    rows = [originals, originals.mul(mask), cm.inpaint(loaded.f, originals, mask, { generator, sigmas })];
  } else if (task === 'superres') {
    const low = cm.blockMeans(originals, 4);
    rows = [originals, cm.repeatBlocks(low, 4), cm.superResolve(loaded.f, low, 4, { generator, sigmas })];
  } else if (task === 'denoise') {
    const noisy = originals.add(randn([...originals.shape], { generator }).mul(0.5));
    rows = [originals, noisy.clamp(-1, 1), cm.denoise(loaded.f, noisy, 0.5)];
  } else if (task === 'colorize') {
    const gray = cm.luminance(originals);
    rows = [originals, gray.expand([n, 3, size, size]), cm.colorize(loaded.f, gray, { generator, sigmas })];
  } else {
    const z1 = randn([n, ...loaded.shape], { generator }), z2 = randn([n, ...loaded.shape], { generator });
    rows = [cm.interpolateLatents(loaded.f, z1, z2, Array.from({ length: 8 }, (_, i) => i / 7))];
  }
  const seconds = (performance.now() - started) / 1e3;
  const outDir = resolve(values.out!);
  const file = join(outDir, `edit-${task}.png`);
  saveImageGrid(file, concat(rows, 0), task === 'interpolate' ? 8 : n);
  console.log(task === 'interpolate'
    ? `${n} interpolations of 8 points in ${seconds.toFixed(1)} s: ${file} (one row per pair of latents)`
    : `${task} of ${n} images in ${seconds.toFixed(1)} s: ${file} (rows: originals, the model's input, results)`);
}

async function main(): Promise<void> {
  const { values, positionals } = parse();
  if (values.help) {
    console.log(HELP);
    return;
  }
  const command = positionals[0] ?? 'train';
  if (positionals.length > 1) fail(`unexpected arguments: ${positionals.slice(1).join(' ')}.`);
  try {
    setBackend(values.backend as BackendName);
  } catch (e) {
    fail((e as Error).message);
  }
  if (command === 'train') await train(values);
  else if (command === 'sample') sampleCommand(values);
  else if (command === 'classifier') await classifierCommand(values);
  else if (command === 'eval') evalCommand(values);
  else if (command === 'edit') editCommand(values);
  else if (command === 'teacher') await train(values, 'edm');
  else if (command === 'distill') await train(values, 'cd');
  else fail(`unknown command '${command}'; use train, sample, classifier, eval, edit, teacher or distill.`);
}

await main();
