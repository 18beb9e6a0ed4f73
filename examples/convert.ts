// npm run convert -- FILE.pt --official-args ARGS.json|imagenet64|lsun256 --kind consistency|edm
// [--out OUT.safetensors] [--key KEY]: a checkpoint of the official consistency-model code
// (torch.save of its UNetModel's state dict) as a onestep model file that sample, edit and eval read.
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cm, FileAccessError, loadTorchStateDict, saveSafetensors } from '../src/index';
import { reportError, UsageError } from './cli/report';

const HELP = `onestep convert: a PyTorch checkpoint of the official consistency models (openai/consistency_models,
torch.save of its UNetModel's state dict, fp32 or fp16) as a .safetensors file of ours.

  npm run convert -- FILE.pt --official-args ARGS --kind consistency|edm [--out OUT] [--key KEY]

  --official-args ARGS  a JSON file of the official create_model's keyword arguments (image_size,
                        num_channels, num_res_blocks, channel_mult, attention_resolutions,
                        num_heads, num_head_channels, num_heads_upsample, use_scale_shift_norm,
                        resblock_updown, class_cond, dropout, use_fp16, ...; missing: the official
                        defaults), or a preset with the official launch script's flags:
                        imagenet64 (the ImageNet 64x64 CD/CT/EDM models) or lsun256 (LSUN 256x256)
  --kind K              consistency: the weights of a consistency model (CD or CT: f, sampled in
                        one or a few steps); edm: an EDM denoiser (the teachers: D, Heun sampling)
  --out OUT             the file to write                         [FILE with .safetensors]
  --key KEY             the state dict is under this key of the checkpoint (e.g. model, ema)
  --debug               the stack trace of a failure

Then: npm run imagenet9 -- sample --ckpt OUT [--class K] (a class-conditional file needs --class).
The pickle inside a .pt file is read, never run: anything but a state dict is refused.`;

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      'official-args': { type: 'string' }, kind: { type: 'string' }, out: { type: 'string' }, key: { type: 'string' },
      help: { type: 'boolean' }, debug: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(HELP);
  if (positionals.length !== 1) throw new UsageError(`give one checkpoint file (FILE.pt), got ${positionals.length ? positionals.join(' ') : 'none'}.`);
  const file = resolve(positionals[0]!);
  const preset = values['official-args'];
  if (!preset) throw new UsageError('--official-args is required: a JSON file of the official create_model arguments, or imagenet64 / lsun256.');
  const kind = values.kind as cm.OfficialKind | undefined;
  if (!kind || !cm.OFFICIAL_KINDS.includes(kind)) throw new UsageError(`--kind must be ${cm.OFFICIAL_KINDS.join(' or ')} (the wrapper the weights were trained under), got ${kind ?? 'nothing'}.`);
  const args = preset in cm.OFFICIAL_PRESETS
    ? cm.officialArgs(cm.OFFICIAL_PRESETS[preset as keyof typeof cm.OFFICIAL_PRESETS], preset)
    : cm.officialArgs(readJson(preset), preset);
  const out = resolve(values.out ?? join(dirname(file), `${basename(file, extname(file))}.safetensors`));
  if (out === file) throw new UsageError(`--out ${out} is the input file; choose another name.`);
  const start = performance.now();
  const stateDict = loadTorchStateDict(file, { key: values.key });
  const { model, tensors, metadata } = cm.convertOfficial(stateDict, args, kind, basename(file));
  saveSafetensors(out, tensors, metadata);
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  const { channels, numClasses } = model.config;
  console.log(`${basename(file)}: ${cm.OFFICIAL_KIND_INFO[kind].description}, UNet of ${(parameters / 1e6).toFixed(1)}M parameters on ` +
    `${args.image_size}x${args.image_size}x${channels}${numClasses ? `, conditional on ${numClasses} classes` : ''}; written ${out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  console.log(`sample it: npm run imagenet9 -- sample --ckpt ${out}${numClasses ? ' --class 0' : ''}`);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FileAccessError(path, `--official-args ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a JSON file or a preset: ${Object.keys(cm.OFFICIAL_PRESETS).join(', ')}.`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--official-args ${path} is not JSON: ${(e as Error).message}.`);
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  const debug = process.argv.includes('--debug') || process.env.ONESTEP_DEBUG === '1';
  process.exit(reportError(e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? new UsageError(e.message) : e, debug, 'convert'));
}
