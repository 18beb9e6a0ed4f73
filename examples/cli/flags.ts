// The MNIST example's flags: the help text, the parseArgs table, and turning strings into numbers.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cm } from '../../src/index';
import { existingFile } from './io';
import { UsageError } from './report';

/** The CLI's recipe table: which command trains which recipes (train chooses with --recipe, default ict). */
export const DEFAULT_TRAIN_RECIPE: cm.TrainRecipe = 'ict';
export const recipesOf = (command: string): cm.TrainRecipe[] => cm.TRAIN_RECIPES.filter((r) => cm.RECIPES[r].command === command);
/** The recipe a training command runs. */
export const recipeOf = (command: string, given: string | undefined): cm.TrainRecipe => (command === 'train' ? (given ?? DEFAULT_TRAIN_RECIPE) : recipesOf(command)[0]!) as cm.TrainRecipe;

const recipeFlags = (names: readonly cm.TrainRecipe[]): [flag: string, recipe: cm.TrainRecipe, cm.RecipeFlag][] =>
  names.flatMap((r) => Object.entries(cm.RECIPES[r].flags as Record<string, cm.RecipeFlag>).map(([flag, f]): [string, cm.TrainRecipe, cm.RecipeFlag] => [flag, r, f]));
/** Every recipe's own flags (--max-intervals, --teacher, ...), with the recipe that reads each. */
export const RECIPE_FLAGS = recipeFlags(cm.TRAIN_RECIPES);

/** Help lines: `  --name ARG` in 27 columns, then `text` wrapped at 92. */
function helpLines(name: string, text: string): string {
  const lines: string[] = [];
  let line = `  ${name}`.padEnd(27);
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > 92 && line.trim()) {
      lines.push(line.trimEnd());
      line = ' '.repeat(27);
    }
    line += (line.endsWith(' ') ? '' : ' ') + word;
  }
  return [...lines, line.trimEnd()].join('\n');
}

const ARG = { int: 'N', number: 'X', file: 'FILE' } as const;
const argOf = (f: cm.RecipeFlag) => (typeof f.kind === 'string' ? ARG[f.kind] : 'NAME');

function recipeFlagLines(command: string): string {
  const names = recipesOf(command);
  return recipeFlags(names).map(([flag, r, f]) => helpLines(`--${flag} ${argOf(f)}`, `${names.length > 1 ? `${r}: ` : ''}${f.help}`)).join('\n');
}

function recipeChoice(command: string): string {
  const names = recipesOf(command);
  return helpLines(`--recipe ${names.join('|')}`, `${names.map((r) => `${r}: ${cm.RECIPES[r].summary}`).join('; ')} [${DEFAULT_TRAIN_RECIPE}]`);
}

export const HELP: string = `onestep MNIST example: consistency training from data alone, and one-step sampling.

  npm run mnist -- train [flags]      train (the default command)
  npm run mnist -- sample --ckpt FILE [flags]
  npm run mnist -- classifier [flags] train the MNIST classifier that eval measures with
  npm run mnist -- eval --ckpt FILE [flags]   sample quality: Frechet distance in the
                                      classifier's features, confidence, class spread
  npm run mnist -- edit --task T [flags]      zero-shot editing with a consistency model
  npm run mnist -- teacher [train flags]      train an EDM teacher (denoiser) for distillation
  npm run mnist -- distill [--teacher FILE] [train flags]   consistency distillation (on
                                      MNIST, of the committed teacher by default)

train flags
  --dataset NAME           mnist, mnist-test, fashion (Fashion-MNIST), a folder of PNG or
                           JPEG images (or of one subfolder of them per class), or an
                           IDX file of unsigned-byte images [count, rows, cols]      [mnist]
  --channels 1|3           for a folder: grey or RGB                                [1]
  --size N                 for a folder or an IDX file: the side images are resized to
                           (area averaging), a multiple of 4, e.g. 32 or 64         [32]
  --model NAME             simpleunet (the community model) or unet (ADM-style: channel
                           multipliers 1,2,2, one ResBlock per level, attention at 16x16,
                           dropout 0.1; not with recipe seed)                      [simpleunet]
${recipeChoice('train')}
  --steps N                optimiser steps          [ict: 2400, distill: 1800, others: 1000]
  --batch N                images per step                                          [32]
  --width D                base width (SimpleUNet D, UNet model channels), a multiple of 32 [32]
  --lr X                   AdamW learning rate                  [ict: 0.001, others: 0.0006]
  --ema X[,Y...]           EMA rates of the weights kept for sampling; the first is used
                           for the grids and ema.safetensors, each other one is exported
                           as ema-RATE.safetensors         [distill: 0.999, others: 0.995]
  --warmup N               linear learning-rate warm-up over N steps                [0]
  --lr-decay none|cosine   decay the learning rate to 0 over the run (cosine)
                                                          [ict: cosine, others: none]
  --clip X                 clip gradients to global norm X (0: off)                 [0]
  --c-noise-scale X        time input = X ln(sigma) under the official parametrization [250]
${recipeFlagLines('train')}
  --seed N                 seeds initialisation, batch order and noise              [0]
  --class-conditional      condition the network on the dataset's labels (a label
                           embedding); sample and edit then take --class, eval
                           --class-conditional
  --label-dropout X        with --class-conditional: the fraction of labels replaced by
                           "no label" in training, so the model also samples without one [0.1]
  --out DIR                where checkpoints and sample grids go   [runs/mnist; with --resume:
                           the checkpoint's folder]
  --resume FILE            continue the run saved in FILE (a checkpoint.safetensors), with
                           its settings and the cadences it was started with (--checkpoint-
                           every, --sample-every, --eval-every, --eval-n, --log-every) unless
                           given again
  --init FILE              start from FILE's weights instead of at random: an EDM teacher
                           (a diffusion pre-training, as ECT tunes one) or a model of the
                           recipe's own parametrization, the same network (distill:
                           instead of the teacher's, e.g. a student to anneal)
  --sample-every N         write sample grids every N steps (0: only at the end)    [250]
  --checkpoint-every N     write the checkpoint every N steps                       [100]
  --eval-every N           MNIST: a learning curve: every N steps and at the end, the FD of
                           the EMA copy's samples at 1 and 2 steps (a teacher: 18 Heun
                           steps) as eval measures it, --eval-n of them (class-
                           conditional: and the class agreement), written to
                           DIR/curve.csv with the step and the minutes of training (the
                           measurements left out); the EMA at the point of lowest first
                           FD is kept as DIR/best-ema.safetensors (a teacher's:
                           DIR/best-teacher.safetensors) (0: none)                 [0]
  --eval-n N               samples per point of the curve                           [1000]
  --classifier FILE        the curve's classifier, as for eval
  --log-every N            print a progress line every N steps instead of the bar (0: the bar
                           on a terminal, a line every 10 s otherwise)              [0]
  --time-limit MIN         stop after MIN minutes (wall clock, this invocation) with a
                           checkpoint and print the command that continues the run; exit
                           code 0 (long runs in parts: resume with the same flag)
  Ctrl-C (or SIGTERM) finishes the current step, writes the checkpoint and exits with code 130
  (the same through npm, npx tsx and node: training runs in a process of its own); a second
  Ctrl-C exits when the current step returns, without writing one (the last checkpoint stays
  whole).

sample flags
  --ckpt FILE              a training checkpoint or exported weights
                           [examples/checkpoints/mnist-simpleunet-d32.safetensors]
  --n N                    how many images (per class with a --class range)  [64; 8 per class]
  --batch N                images per network evaluation: bounds the memory, not the
                           result                                [256 for 32x32 grey images]
  --steps K                1 (one step), 2 (80 -> 0.8) or 5 (80, 40, 20, 10, 5)     [1]
  --sigmas A,B,...         explicit decreasing noise levels (overrides --steps)
  --class K | A-B          a class-conditional model: all images of class K, or a grid
                           row of --n images for each class A..B              [no class]
  --guidance W             a class-conditional teacher: classifier-free guidance,
                           D_uncond + (1 + W)(D_cond - D_uncond); needs --class (or
                           --guide-with: the autoguidance weight)                 [none]
  --guide-with FILE        a teacher: autoguidance by this weaker teacher of the same
                           kind, D_weak + (1 + W)(D - D_weak), W from --guidance  [none]
  --class-guidance G       with --guide-with, a class-conditional teacher and --class:
                           adds G (D_cond - D_uncond) to the autoguided teacher  [none]
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
  --batch N                images drawn and classified at a time                    [250]
  --steps K, --sigmas      the sampler, as for sample                               [1]
  --guidance W             a class-conditional teacher's guidance, as for sample; needs
                           --class-conditional (or --guide-with)                 [none]
  --guide-with FILE        a teacher's autoguidance, as for sample                  [none]
  --class-guidance G       with --guide-with: as for sample; needs --class-conditional [none]
  --seed N                 sampling seed                                            [0]
  --classifier FILE        [examples/checkpoints/mnist-classifier.safetensors]
  --real                   measure N real training digits instead of samples (the sanity
                           check: FD near 0)
  --class-conditional      a class-conditional model: draw the N samples for the classes
                           0-9 in turn and also report how often the classifier agrees
  --json                   print the metrics as one JSON line

edit flags
  --task NAME              inpaint (the lower half), superres (from 4x4 block means),
                           denoise (Gaussian noise of std 0.5), interpolate (slerp between
                           two latents, 8 points), colorize (RGB models: from the luminance)
  --ckpt FILE              the consistency model [the committed checkpoint]
  --n N                    how many images (pairs for interpolate)                  [8]
  --batch N                images per network evaluation, as for sample
  --sigmas A,B,...         the editing loop's noise levels        [80,40,20,10,5,2.5,1.25,0.6]
  --class K                a class-conditional model: edit towards class K     [no class]
  --seed N                 which test digits, and the sampler's noise               [0]
  --dataset DIR            take the originals from a folder of PNG or JPEG images (RGB
                           models: else the model's own samples)         [MNIST test digits]
  --out DIR                writes DIR/edit-TASK.png: originals, inputs, results     [runs/mnist]

teacher: the train flags; trains the EDM denoiser (lognormal noise levels, EDM's loss weight)
  and writes DIR/teacher.safetensors and grids of its Heun sampler at 18 and 40 steps. sample
  and eval read teacher files too: --steps N is then the number of Heun steps [18].
distill: the train flags (recipe cd), and (without --teacher, on MNIST: the committed teacher
  examples/checkpoints/mnist-edm-d32.safetensors, with --class-conditional mnist-edm-d32-cond)
${recipeFlagLines('distill')}
  --lr X                   as for train, but                                        [0.0001]
                           (lr 6e-4 with mu 0 diverged here within 300 steps)

every command
  --backend NAME           cpu, cpu-reference, webgpu, webasm, gpujs-cpu or auto    [cpu]
                           (also ONESTEP_BACKEND; auto: WebGPU on a real GPU, else cpu)
  --debug                  show the stack trace of an error (also ONESTEP_DEBUG=1)
  --help, -h               this text
`;

const text = { type: 'string' } as const;
const OPTIONS = {
  help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' }, real: { type: 'boolean' }, json: { type: 'boolean' },
  'class-conditional': { type: 'boolean' }, 'label-dropout': text, class: text,
  dataset: text, init: text, channels: text, size: text, model: text, recipe: text, steps: text, batch: text, width: text, lr: text, ema: text,
  warmup: text, 'lr-decay': text, clip: text, 'c-noise-scale': text, seed: text,
  out: text, resume: text, 'sample-every': text, 'checkpoint-every': text, 'eval-every': text, 'eval-n': text, 'log-every': text, 'time-limit': text, backend: text, ckpt: text, n: text,
  epochs: text, classifier: text, task: text, sigmas: text, raw: text, guidance: text, 'guide-with': text, 'class-guidance': text,
  ...(Object.fromEntries(RECIPE_FLAGS.map(([flag]) => [flag, text])) as Record<string, typeof text>),
} as const;

export type Flags = ReturnType<typeof parseFlags>['values'];

export function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** An integer flag (absent: the fallback); `min` for the flags the library does not check. */
export function int(flag: string, value: string | undefined, fallback?: number, min = -Infinity): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--${flag} must be an integer, got '${value}'.`);
  if (n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got '${value}'.`);
  return n;
}

/** A number flag (absent: undefined); ranges are checked where the value is used. */
export function num(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${value}'.`);
  return n;
}

/** A comma-separated list of numbers. */
export function numbers(flag: string, value: string | undefined): number[] | undefined {
  return value?.split(',').map((part) => num(flag, part)!);
}

/** --class: one class K, or a range A-B (each a whole number). */
export function classRange(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  const [a, b] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
  if (b > 254) throw new UsageError(`--class ${value}: onestep models have at most 255 classes (0..254).`);
  if (!(a <= b)) throw new UsageError(`--class must be a class K or a range A-B (such as 7 or 0-9), got '${value}'.`);
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** One of a fixed set of words. */
export function choice<T extends string>(flag: string, value: string | undefined, options: readonly T[]): T | undefined {
  if (value !== undefined && !options.includes(value as T)) throw new UsageError(`--${flag} must be one of ${options.join(', ')}, got '${value}'.`);
  return value as T | undefined;
}

const TRAIN_FLAGS = ['dataset', 'channels', 'size', 'model', 'steps', 'batch', 'width', 'lr', 'ema', 'warmup', 'lr-decay', 'clip', 'c-noise-scale',
  'seed', 'out', 'resume', 'sample-every', 'checkpoint-every', 'log-every', 'class-conditional', 'label-dropout',
  'eval-every', 'eval-n', 'classifier', 'init', 'time-limit'];
const trainingFlags = (command: string) => [...TRAIN_FLAGS, ...recipeFlags(recipesOf(command)).map(([flag]) => flag)];
const COMMAND_FLAGS: Record<string, string[]> = {
  train: [...trainingFlags('train'), 'recipe'],
  teacher: trainingFlags('teacher'),
  distill: trainingFlags('distill'),
  sample: ['ckpt', 'n', 'batch', 'steps', 'sigmas', 'class', 'guidance', 'guide-with', 'class-guidance', 'seed', 'out', 'raw'],
  classifier: ['epochs', 'batch', 'lr', 'seed', 'out'],
  eval: ['ckpt', 'n', 'batch', 'steps', 'sigmas', 'guidance', 'guide-with', 'class-guidance', 'seed', 'classifier', 'real', 'json', 'class-conditional'],
  edit: ['task', 'ckpt', 'n', 'batch', 'sigmas', 'class', 'seed', 'dataset', 'out'],
};
// what a resumed run may change: the rest comes from the checkpoint
const RESUME_FLAGS = ['resume', 'steps', 'out', 'sample-every', 'checkpoint-every', 'log-every', 'eval-every', 'eval-n', 'classifier', 'time-limit'];

/** Refuses guidance towards a class (--class-guidance, or --guidance without --guide-with) without classes to guide towards; `give` says how to give them. */
export function checkClassGuidance(flags: Flags, hasClasses: boolean, give: string): void {
  const flag = flags['class-guidance'] !== undefined ? '--class-guidance' : flags.guidance !== undefined && !flags['guide-with'] ? '--guidance' : null;
  if (flag && !hasClasses) throw new UsageError(`${flag} moves each image towards its class: ${give} (or --guide-with FILE with --guidance alone: autoguidance).`);
}

/** A flag's value by name (the recipes' flags are not in the Flags type). */
export const flagValue = (flags: Flags, name: string): string | boolean | undefined => (flags as Record<string, string | boolean | undefined>)[name];

/**
 * The settings a recipe's own flags give (each parsed by its kind; a file must exist, and is made absolute);
 * `fallbacks` stand in for file flags not given (the committed teacher), and say so.
 */
export function recipeSettings(recipe: cm.TrainRecipe, flags: Flags, fallbacks: Record<string, string> = {}): Partial<cm.TrainConfig> {
  const settings: Record<string, unknown> = {};
  for (const [flag, , f] of recipeFlags([recipe])) {
    const given = flagValue(flags, flag) as string | undefined;
    const value = given ?? (f.kind === 'file' ? fallbacks[flag] : undefined);
    if (given === undefined && value !== undefined) console.log(`--${flag} not given: ${value} (the committed one)`);
    if (value === undefined) {
      if (f.required) throw new UsageError(`this command needs --${flag} ${argOf(f)} (${f.required}).`);
      continue;
    }
    settings[f.setting] = f.kind === 'int' ? int(flag, value) : f.kind === 'number' ? num(flag, value)
      : f.kind === 'file' ? resolve(existingFile(flag, value)) : choice(flag, value, f.kind);
  }
  return settings as Partial<cm.TrainConfig>;
}

/** The recipe's file flags, with their values (given, else their fallbacks): [flag, value]. */
export const recipeFlagFiles = (recipe: cm.TrainRecipe, flags: Flags, fallbacks: Record<string, string> = {}): [string, string | undefined][] =>
  recipeFlags([recipe]).filter(([, , f]) => f.kind === 'file').map(([flag]) => [flag, (flagValue(flags, flag) as string | undefined) ?? fallbacks[flag]]);

/** Refuses a flag the command does not read, and settings a resumed run takes from its checkpoint. */
export function checkFlags(command: string, flags: Flags): void {
  const given = Object.keys(flags).filter((f) => flagValue(flags, f) !== undefined && !['help', 'debug', 'backend'].includes(f));
  // a recipe's flag given to a run of another recipe
  const training = recipesOf(command).length > 0;
  if (command === 'train') choice('recipe', flags.recipe, recipesOf('train'));
  const recipe = training ? recipeOf(command, flags.recipe) : undefined;
  const own = new Set(training ? recipeFlags([recipe!]).map(([flag]) => flag) : []);
  const unread = training && !flags.resume ? RECIPE_FLAGS.find(([flag]) => given.includes(flag) && !own.has(flag)) : undefined;
  if (unread) throw new UsageError(`--${unread[0]} is read by the ${unread[1]} recipe only, not by ${recipe}.`);
  const foreign = given.filter((f) => !COMMAND_FLAGS[command]!.includes(f));
  if (foreign.length) throw new UsageError(`--${foreign[0]} is not a flag of ${command} (its flags: ${COMMAND_FLAGS[command]!.map((f) => `--${f}`).join(' ')}).`);
  const fixed = flags.resume ? given.filter((f) => !RESUME_FLAGS.includes(f)) : [];
  if (fixed.length) throw new UsageError(`--${fixed[0]} cannot change a resumed run: --resume continues with the checkpoint's own settings (it may change ${RESUME_FLAGS.slice(1).map((f) => `--${f}`).join(', ')}).`);
}
