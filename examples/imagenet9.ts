// npm run imagenet9 -- [train|sample|edit|teacher|distill] --dataset DIR [flags]: the seed's second
// example, class-conditional consistency training of the ADM-style UNet on a folder of labelled RGB
// images at 64x64 (ImageNet-9's layout: DIR/<class>/*.JPEG; PNG and JPEG files, mixed or not). The
// commands, flags, checkpoints and samplers are the MNIST example's (examples/mnist.ts) with other
// defaults.
import { type App, runApp } from './mnist';

const HELP = `onestep ImageNet-9 example: class-conditional consistency training of the ADM-style UNet
on a labelled image folder at 64x64 RGB.

  npm run imagenet9 -- train --dataset DIR [flags]     DIR/<class>/*.{png,jpg,jpeg}, a subfolder per class
  npm run imagenet9 -- sample --ckpt FILE [--class K | --class A-B] [flags]
  npm run imagenet9 -- edit --task T --ckpt FILE --dataset DIR [--class K] [flags]
  npm run imagenet9 -- teacher --dataset DIR / distill --teacher FILE --dataset DIR

Training defaults: --model unet --size 64 --channels 3 --class-conditional --out runs/imagenet9;
give --model, --size, --channels or --out again to change them (--class-conditional stays on;
--recipe seed needs --model simpleunet). --resume continues a run with its own settings.
Every other flag is the MNIST example's: \`npm run mnist -- --help\`. ImageNet itself cannot be
downloaded here; a labelled folder to try it on: \`npm run tinted-digits -- runs/tinted-cls 5000
--by-class\`, then \`npm run imagenet9 -- train --dataset runs/tinted-cls --size 32\`.
`;

const IMAGENET9: App = {
  name: 'imagenet9', help: HELP, committedModel: false, requireFolder: true, out: 'runs/imagenet9',
  commands: ['train', 'teacher', 'distill', 'sample', 'edit'],
  trainDefaults: ['--model', 'unet', '--size', '64', '--channels', '3', '--class-conditional'],
};

await runApp(process.argv.slice(2), IMAGENET9);
