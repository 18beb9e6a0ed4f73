import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { cm, loadSafetensors, saveSafetensors, SimpleUNet } from '../src/index';

// The example as a user runs it, as a child process.
const ARGS = ['--import', 'tsx', 'examples/mnist.ts'];
const run = (...args: string[]) => spawnSync(process.execPath, [...ARGS, ...args], { encoding: 'utf8', timeout: 120_000 });
const runAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = execFile(process.execPath, [...ARGS, ...args], { encoding: 'utf8', timeout: 120_000 }, (_, stdout, stderr) =>
      done({ status: child.exitCode, stdout, stderr }));
  });

const MODEL = 'examples/checkpoints/mnist-simpleunet-d32.safetensors';
const CLASSIFIER = 'examples/checkpoints/mnist-classifier.safetensors';
const TEACHER = 'examples/checkpoints/mnist-edm-d32.safetensors', COND_TEACHER = 'examples/checkpoints/mnist-edm-d32-cond.safetensors';

/** Bad files of every kind the loaders meet, written once. */
function badFiles(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'onestep-bad-'));
  const file = (name: string, bytes: Uint8Array | string) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const model = readFileSync(MODEL);
  const png = PNG.sync.write(new PNG({ width: 8, height: 8 }));
  const folder = (name: string, files: Record<string, Uint8Array | string>) => {
    mkdirSync(join(dir, name));
    for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, name, f), bytes);
    return join(dir, name);
  };
  const idx = (magic: number[], dims: number[], values: number) =>
    Uint8Array.from([...magic, ...dims.flatMap((d) => [d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255]), ...new Array(values).fill(7)]);
  return {
    dir,
    truncated: file('truncated.safetensors', model.subarray(0, Math.floor(model.length / 2))),
    condTeacherCopy: file('cond-teacher-copy.safetensors', readFileSync(COND_TEACHER)),
    garbage: file('garbage.safetensors', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)),
    badMagic: file('bad-magic-idx3-ubyte', idx([0, 0, 0x0d, 3], [2, 28, 28], 2 * 28 * 28)),
    badSize: file('bad-size-idx3-ubyte', idx([0, 0, 8, 3], [3, 28, 28], 2 * 28 * 28)),
    corruptPng: folder('corrupt-png', { 'a.png': png, 'b.png': png.subarray(0, 40) }),
    corruptJpeg: folder('corrupt-jpeg', { 'a.png': png, 'b.jpg': readFileSync('test/fixtures/jpeg/ycc420.jpg').subarray(0, 300) }),
    nonImage: folder('non-image', { 'a.png': png, 'notes.txt': 'not an image' }),
    emptyFolder: folder('empty', {}),
    onePng: folder('one-png', { 'a.png': png }),
    badWidth: (() => {
      const { tensors, metadata } = loadSafetensors(MODEL);
      saveSafetensors(join(dir, 'bad-width.safetensors'), tensors, { ...metadata, width: 'abc' });
      return join(dir, 'bad-width.safetensors');
    })(),
    badUnet: (() => {
      const { tensors, metadata } = loadSafetensors(MODEL);
      saveSafetensors(join(dir, 'bad-unet.safetensors'), tensors, { ...metadata, unet: '{' });
      return join(dir, 'bad-unet.safetensors');
    })(),
    noConfig: (() => {
      const { tensors, metadata } = loadSafetensors(MODEL);
      saveSafetensors(join(dir, 'no-config.safetensors'), tensors, { ...metadata, format: cm.TRAINING_CHECKPOINT_FORMAT });
      return join(dir, 'no-config.safetensors');
    })(),
    unwritable: 'package.json/out',
  };
}

describe('npm run mnist (examples/mnist.ts)', () => {
  it('documents every flag in --help', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const flag of ['--dataset', '--model', '--recipe', '--steps', '--batch', '--width', '--lr', '--ema', '--seed', '--out', '--resume',
      '--sample-every', '--checkpoint-every', '--log-every', '--backend', '--ckpt', '--n', '--sigmas', '--raw', '--debug',
      '--epochs', '--classifier', '--real', '--json', '--task', '--teacher', '--intervals', '--target-ema', '--distance', '--ect-stages', '--guidance']) expect(r.stdout).toContain(flag);
  });

  it('answers every bad input with exit code 2 and one error line naming the file or flag, without a stack trace', async () => {
    const f = badFiles();
    const cases: [string[], RegExp][] = [
      // safetensors: missing, truncated, garbage, another model, an export where a checkpoint is needed
      [['sample', '--ckpt', 'nope.safetensors'], /--ckpt nope\.safetensors: no such file/],
      [['sample', '--ckpt', f.truncated], /--ckpt .*truncated\.safetensors: .*truncated\.safetensors is not a valid safetensors file: .*truncated/],
      [['sample', '--ckpt', f.garbage], /--ckpt .*garbage\.safetensors: .*garbage\.safetensors is not a valid safetensors file/],
      [['sample', '--ckpt', CLASSIFIER], /--ckpt .*mnist-classifier\.safetensors: .*holds a 'MnistClassifier' model; onestep reads SimpleUNet and UNet/],
      [['eval', '--classifier', MODEL, '--n', '10'], /--classifier .*mnist-simpleunet-d32\.safetensors: not the MNIST classifier/],
      [['eval', '--classifier', f.garbage, '--n', '10'], /--classifier .*garbage\.safetensors: .*not a valid safetensors file/],
      [['train', '--resume', MODEL], /--resume .*mnist-simpleunet-d32\.safetensors: .*is not a training checkpoint/],
      [['train', '--resume', f.noConfig], /--resume .*no-config\.safetensors: .*its metadata 'config' is missing/],
      [['sample', '--ckpt', 'examples'], /--ckpt examples: safetensors: cannot read examples: it is a folder, not a file/],
      [['sample', '--ckpt', f.badWidth], /--ckpt .*bad-width\.safetensors: .*its metadata 'width' is 'abc', not a valid value/],
      [['sample', '--ckpt', f.badUnet], /--ckpt .*bad-unet\.safetensors: .*its metadata 'unet' is not valid JSON/],
      [['distill', '--teacher', MODEL], /--teacher .*is not an EDM teacher \(its parametrization is 'official'\)/],
      // IDX files
      [['train', '--dataset', f.badMagic], /--dataset .*bad-magic-idx3-ubyte: .*type code is 0xd/],
      [['train', '--dataset', f.badSize], /--dataset .*bad-size-idx3-ubyte: .*promises 2352 values .* but 1568 bytes follow/],
      // PNG and JPEG folders
      [['train', '--dataset', f.corruptPng], /--dataset .*corrupt-png: .*b\.png is not a readable PNG/],
      [['train', '--dataset', f.corruptJpeg], /--dataset .*corrupt-jpeg: .*b\.jpg is not a readable JPEG: .*\(file truncated\?\)/],
      [['train', '--dataset', f.nonImage], /--dataset .*non-image: .*notes\.txt.*remove it or convert it/],
      [['train', '--dataset', f.emptyFolder], /--dataset .*empty: .*no \.png, \.jpg or \.jpeg files/],
      [['train', '--dataset', 'no-such-folder'], /--dataset no-such-folder: dataset 'no-such-folder' is neither/],
      // where the output goes
      [['sample', '--out', f.unwritable], /--out package\.json\/out: cannot write there \(ENOTDIR\)/],
      [['sample', '--out', 'package.json'], /--out package\.json: cannot write there \(ENOTDIR\)/],
      [['sample', '--raw', join(f.unwritable, 'x.safetensors')], /--raw package\.json\/out\/x\.safetensors: cannot write to its folder \(ENOTDIR\)/],
      // flags
      [['--steps', 'x'], /--steps must be an integer, got 'x'/],
      [['--steps', '0'], /--steps must be an integer >= 1, got 0/],
      [['--lr=-1'], /--lr \(the learning rate\) must be a positive number, got -1/],
      [['--lr', '-1'], /Option '--lr' argument is ambiguous/],
      [['--recipe', 'fast'], /--recipe must be one of ict, ect, seed, got 'fast'/],
      [['--recipe', 'fast', '--max-intervals', '80'], /--recipe must be one of ict, ect, seed, got 'fast'/],
      [['--width', '48'], /--width must be a multiple of 32/],
      [['--ema', '1.5'], /--ema must be in \[0, 1\), got 1\.5/],
      [['--recipe', 'ect', '--ect-stages', '0'], /--ect-stages must be an integer >= 1, got 0/],
      [['--model', 'unet', '--recipe', 'seed'], /--model UNet has no community parametrization/],
      [['--channels', '2', '--dataset', f.dir], /--channels must be 1 or 3, got 2/],
      [['--size', '64'], /--size 64 is for folders and IDX files; mnist is 32x32 \(leave size out\)/],
      [['--size', '30', '--dataset', f.onePng, '--batch', '1'], /--size: the SimpleUNet needs images whose sides are multiples of 4; .* has 30x30/],
      [['--batch', '100', '--dataset', f.onePng], /--batch 100 is larger than the dataset \(1 images\); use a batch of at most 1/],
      [['--backend', 'gpu'], /--backend gpu: Unknown backend 'gpu'\. Available: cpu, cpu-reference, webgpu, webasm, gpujs-cpu, auto/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['sample', '--lr', '0.1'], /--lr is not a flag of sample \(its flags: --ckpt --n --batch/],
      [['sample', '--class', '3', '--ckpt', MODEL], /--class 3 needs a class-conditional model; .*mnist-simpleunet-d32\.safetensors is not one/],
      [['sample', '--class', 'seven'], /--class must be a class K or a range A-B \(such as 7 or 0-9\), got 'seven'/],
      [['--label-dropout', '0.2'], /--label-dropout needs classConditional/],
      [['sample', '--class', '300'], /--class 300: onestep models have at most 255 classes/],
      [['--class-conditional', '--dataset', f.onePng], /--class-conditional needs labels, and the dataset folder:.*one-png has none/],
      [['eval', '--class-conditional', '--n', '10', '--ckpt', MODEL], /--class-conditional needs a class-conditional model; .*mnist-simpleunet-d32\.safetensors is not one/],
      [['edit', '--task', 'inpaint', '--class', '3', '--ckpt', MODEL], /--class 3: .*mnist-simpleunet-d32\.safetensors is not class-conditional/],
      [['teacher', '--max-intervals', '80'], /--max-intervals is read by the ict recipe only, not by edm/],
      [['train', '--ect-stages', '3'], /--ect-stages is read by the ect recipe only, not by ict/],
      [['train', '--eval-n', '500'], /--eval-n sets the learning curve of --eval-every, which is off/],
      [['train', '--init', 'no-such.safetensors'], /--init .*no-such\.safetensors: no such file/],
      [['train', '--init', MODEL, '--recipe', 'seed'], /--init .*mnist-simpleunet-d32\.safetensors: the init file .* is a consistency model of the official parametrization; recipe seed trains the community one/],
      [['train', '--eval-every', '100', '--dataset', 'fashion'], /--eval-every: the MNIST learning curve measures MNIST digits with the MNIST classifier; this run trains on fashion/],
      [['train', '--resume', MODEL, '--lr', '0.1'], /--lr cannot change a resumed run: --resume continues with the checkpoint's own settings/],
      [['train', 'extra'], /unexpected arguments: extra/],
      [['frobnicate'], /unknown command 'frobnicate'; use train, teacher, distill, sample, classifier, eval, edit/],
      [['sample', '--n', '0'], /--n must be an integer >= 1, got '0'/],
      [['sample', '--steps', '3'], /--steps 3 has no default noise levels; use 1, 2, 5 or give explicit sigmas/],
      [['sample', '--sigmas', '80,100'], /--sigmas \(the noise levels\) must decrease within \(0\.002, 80\], got \[80, 100\]/],
      [['sample', '--batch', '0'], /--batch must be an integer >= 1, got '0'/],
      [['eval', '--n', '1'], /--n must be an integer >= 2, got '1'/],
      [['classifier', '--epochs', '0'], /--epochs must be an integer >= 1, got '0'/],
      // the committed teachers stand in on MNIST only
      [['distill', '--dataset', 'fashion'], /this command needs --teacher FILE \(an EDM teacher: train one with the teacher command\)/],
      [['distill', '--teacher', 'nope.safetensors'], /--teacher nope\.safetensors: no such file/],
      [['distill', '--teacher', MODEL, '--distance', 'l3'], /--distance must be one of l2, l1, pseudo-huber, got 'l3'/],
      [['sample', '--guidance', '1', '--class', '3'], /--guidance is for an EDM teacher's sampler; .*mnist-simpleunet-d32-cond\.safetensors is a consistency model/],
      [['eval', '--guidance', '1', '--n', '10'], /--guidance is for an EDM teacher's sampler/],
      [['distill', '--teacher', MODEL, '--guidance', '1'], /--guidance distills a class-conditional teacher into a class-conditional student: add classConditional/],
      [['eval', '--ckpt', TEACHER, '--guide-with', MODEL, '--guidance', '1', '--n', '10'], /--guide-with .*mnist-simpleunet-d32\.safetensors: the guiding model .* is not an EDM teacher file/],
      [['sample', '--ckpt', TEACHER, '--guide-with', COND_TEACHER, '--guidance', '1'], /--guide-with .*mnist-edm-d32-cond\.safetensors: the guiding teacher .* makes 1x32x32 images of the classes 0, .*; the teacher .* makes 1x32x32 images, unconditional/],
      [['sample', '--ckpt', TEACHER, '--guide-with', f.truncated, '--guidance', '2'], /--guide-with .*truncated\.safetensors: .*truncated\.safetensors is not a valid safetensors file/],
      [['sample', '--ckpt', TEACHER, '--guide-with', TEACHER, '--guidance', '2'], /--guide-with .*mnist-edm-d32\.safetensors is the teacher itself, and a teacher guided by itself is the unguided teacher/],
      [['sample', '--ckpt', TEACHER, '--guide-with', COND_TEACHER], /--guide-with .*guides the teacher with a weight: give guidance w too \(--guidance W/],
      [['distill', '--guide-with', TEACHER], /--guide-with guides the teacher with a weight: give guidance w too \(--guidance/],
      [['sample', '--ckpt', COND_TEACHER, '--class-guidance', '0.5', '--class', '3'], /--class-guidance adds classifier-free guidance to autoguidance: give the weaker teacher too/],
      [['eval', '--ckpt', COND_TEACHER, '--guide-with', f.condTeacherCopy, '--guidance', '2', '--class-guidance', '1', '--n', '10'], /--class-guidance moves each image towards its class: add --class-conditional/],
      [['distill', '--class-conditional', '--teacher', COND_TEACHER, '--guidance', '2', '--class-guidance', '1'], /--class-guidance adds classifier-free guidance to autoguidance: give the weaker teacher too \(guideWith, --guide-with FILE\)/],
      [['edit'], /edit needs --task, one of inpaint, superres, denoise, interpolate, colorize/],
      [['edit', '--task', 'sharpen'], /--task must be one of inpaint, superres, denoise, interpolate, colorize, got 'sharpen'/],
      [['edit', '--task', 'colorize'], /colorize needs an RGB model/],
    ];
    const results: Awaited<ReturnType<typeof runAsync>>[] = [];
    for (let i = 0; i < cases.length; i += 3) results.push(...await Promise.all(cases.slice(i, i + 3).map(([args]) => runAsync(args))));
    cases.forEach(([args, message], i) => {
      const r = results[i]!, what = args.join(' ');
      expect(r.status, `${what}\n${r.stderr}`).toBe(2);
      const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errorLines, what).toHaveLength(1);
      expect(errorLines[0], what).toMatch(message);
      expect(r.stderr + r.stdout, what).not.toMatch(/^\s+at /m);
      expect(r.stderr, what).toContain('npm run mnist -- --help');
    });
  }, 600_000);

  it('shows the stack trace with --debug', () => {
    const r = run('sample', '--ckpt', CLASSIFIER, '--debug');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^FormatError: .*holds a 'MnistClassifier' model/m);
    expect(r.stderr).toMatch(/^\s+at .*load\.ts/m);
  });

  it('samples from the committed checkpoint by default; its tensors carry exactly the model\'s names', () => {
    const { tensors, metadata } = loadSafetensors(MODEL);
    const model = new SimpleUNet({ channels: 1, width: 32 });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(model.stateDict()).sort());
    expect(metadata).toMatchObject({ model: 'SimpleUNet', width: '32', channels: '1', parametrization: 'official' });
    const out = mkdtempSync(join(tmpdir(), 'onestep-cli-'));
    const r = run('sample', '--n', '4', '--out', out);
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'samples-1step-seed0.png'))).toBe(true);
    // with a class: the committed class-conditional model
    const cond = run('sample', '--class', '0-9', '--n', '1', '--out', out);
    expect(cond.status, cond.stderr).toBe(0);
    expect(cond.stdout).toMatch(/^10 samples of classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 in 1 step/m);
  });

  it('writes the same raw samples whatever --batch is (to float32 rounding: the cpu backend picks its JavaScript or wasm kernel by tensor size)', () => {
    const out = mkdtempSync(join(tmpdir(), 'onestep-cli-'));
    for (const batch of ['5', '2']) {
      const r = run('sample', '--n', '5', '--steps', '2', '--batch', batch, '--out', out, '--raw', join(out, `raw-${batch}.safetensors`));
      expect(r.status, r.stderr).toBe(0);
    }
    const [a, b] = ['5', '2'].map((k) => Array.from(loadSafetensors(join(out, `raw-${k}.safetensors`)).tensors.samples!.toArray()));
    expect(b).toHaveLength(a!.length);
    expect(Math.max(...a!.map((v, i) => Math.abs(v - b![i]!)))).toBeLessThanOrEqual(1e-5);
  });

  it('trains a class-conditional model on a folder of class subfolders and samples a row per class', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-classes-'));
    for (const [name, shade] of [['circle', 40], ['square', 220]] as const) {
      mkdirSync(join(dir, 'data', name), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const png = new PNG({ width: 8, height: 8 });
        png.data.fill(shade + i);
        writeFileSync(join(dir, 'data', name, `${i}.png`), PNG.sync.write(png));
      }
    }
    const trained = run('train', '--dataset', join(dir, 'data'), '--class-conditional', '--steps', '2', '--batch', '4', '--sample-every', '0', '--out', join(dir, 'run'));
    expect(trained.status, trained.stderr).toBe(0);
    const { metadata } = loadSafetensors(join(dir, 'run', 'ema.safetensors'));
    expect([metadata.num_classes, metadata.class_names]).toEqual(['2', '["circle","square"]']);
    const sampled = run('sample', '--ckpt', join(dir, 'run', 'ema.safetensors'), '--class', '0-1', '--n', '3', '--out', join(dir, 'run'));
    expect(sampled.status, sampled.stderr).toBe(0);
    expect(sampled.stdout).toContain('6 samples of classes circle, square');
    expect(existsSync(join(dir, 'run', 'samples-1step-seed0-class0-1.png'))).toBe(true);
    const noSuchClass = run('sample', '--ckpt', join(dir, 'run', 'ema.safetensors'), '--class', '2', '--out', join(dir, 'run'));
    expect([noSuchClass.status, noSuchClass.stderr.split('\n')[0]]).toEqual([2, `error: --class 2 is not one of ${join(dir, 'run', 'ema.safetensors')}'s classes 0..1.`]);
    const colorize = run('edit', '--task', 'colorize', '--ckpt', join(dir, 'run', 'ema.safetensors'), '--class', '0', '--out', join(dir, 'run'));
    expect(colorize.status).toBe(2);
    expect(colorize.stderr).toMatch(/^error: colorize needs an RGB model; this one makes 1-channel images/);
    const inpaint = run('edit', '--task', 'inpaint', '--ckpt', join(dir, 'run', 'ema.safetensors'), '--class', '1', '--n', '2', '--dataset', join(dir, 'data'), '--out', join(dir, 'run'));
    expect(inpaint.status, inpaint.stderr).toBe(0);
  }, 300_000);

  it('npm run imagenet9: the same commands with the class-conditional UNet defaults, on a labelled folder of PNG and JPEG files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-in9-'));
    for (const [name, rgb] of [['red', [200, 30, 30]], ['blue', [30, 30, 200]]] as const) {
      mkdirSync(join(dir, 'data', name), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const png = new PNG({ width: 20, height: 20 });
        for (let p = 0; p < 400; p++) png.data.set([rgb[0], rgb[1] + 10 * i, rgb[2], 255], 4 * p);
        // red as PNG files, blue as JPEG (ImageNet's format), one of them named as ImageNet names them
        if (name === 'red') writeFileSync(join(dir, 'data', name, `${i}.png`), PNG.sync.write(png));
        else writeFileSync(join(dir, 'data', name, i ? `${i}.jpg` : `${i}.JPEG`), encodeJpeg({ width: 20, height: 20, data: png.data }, 90).data);
      }
    }
    const in9 = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'examples/imagenet9.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
    const noData = in9('train');
    expect([noData.status, noData.stderr]).toEqual([2, expect.stringMatching(/^error: imagenet9 trains on a folder of labelled images: give --dataset DIR/)]);
    const trained = in9('train', '--dataset', join(dir, 'data'), '--size', '16', '--steps', '2', '--batch', '2', '--sample-every', '0', '--out', join(dir, 'run'));
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toContain('training UNet width 32');
    const { metadata } = loadSafetensors(join(dir, 'run', 'ema.safetensors'));
    expect([metadata.model, metadata.channels, metadata.height, metadata.num_classes, metadata.class_names]).toEqual(['UNet', '3', '16', '2', '["blue","red"]']);
    const sampled = in9('sample', '--ckpt', join(dir, 'run', 'ema.safetensors'), '--class', '0-1', '--n', '2', '--out', join(dir, 'run'));
    expect(sampled.status, sampled.stderr).toBe(0);
    expect(sampled.stdout).toContain('4 samples of classes blue, red');
    const unknown = in9('eval');
    expect(unknown.stderr).toMatch(/^error: unknown command 'eval'; use train, teacher, distill, sample, edit\.\nRun `npm run imagenet9 -- --help`/);
  }, 300_000);

  it('distills the committed teacher when no --teacher is given, and says so', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'onestep-distill-')), 'run');
    const r = run('distill', '--steps', '1', '--batch', '2', '--sample-every', '0', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const teacher = join(process.cwd(), 'examples/checkpoints/mnist-edm-d32.safetensors');
    expect(r.stdout).toContain(`--teacher not given: ${teacher} (the committed one)`);
    expect(loadSafetensors(join(out, 'ema.safetensors')).metadata.teacher).toBe(teacher);
    // class-conditional: the committed class-conditional teacher
    const cond = run('distill', '--class-conditional', '--steps', '1', '--batch', '2', '--sample-every', '0', '--out', `${out}-cond`);
    expect(cond.status, cond.stderr).toBe(0);
    expect(loadSafetensors(join(`${out}-cond`, 'ema.safetensors')).metadata.teacher).toBe(teacher.replace('d32.safetensors', 'd32-cond.safetensors'));
  }, 300_000);

  it('resumes in the checkpoint\'s folder unless --out says otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onestep-resume-'));
    const first = run('train', '--steps', '2', '--batch', '2', '--sample-every', '0', '--out', join(dir, 'a'));
    expect(first.status, first.stderr).toBe(0);
    mkdirSync(join(dir, 'b'));
    copyFileSync(join(dir, 'a', 'checkpoint.safetensors'), join(dir, 'b', 'checkpoint.safetensors'));
    const resumed = run('train', '--resume', join(dir, 'b', 'checkpoint.safetensors'), '--steps', '3');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming');
    expect(loadSafetensors(join(dir, 'b', 'checkpoint.safetensors')).metadata.step).toBe('3');
    expect(existsSync(join(dir, 'b', 'ema.safetensors'))).toBe(true);
  }, 300_000);
});
