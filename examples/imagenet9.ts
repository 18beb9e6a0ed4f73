// npm run imagenet9 -- [train|sample|edit|teacher|distill] --dataset DIR [flags]: the seed's second
// example, class-conditional consistency training of the ADM-style UNet on a folder of labelled RGB
// images at 64x64 (ImageNet-9's layout: DIR/<class>/*.png). The commands, flags, checkpoints and
// samplers are the MNIST example's (examples/mnist.ts) with other defaults.
import { type App, runApp } from './mnist';

const HELP = `onestep ImageNet-9 example: class-conditional consistency training of the ADM-style UNet
on a labelled image folder at 64x64 RGB.

  npm run imagenet9 -- train --dataset DIR [flags]     DIR/<class>/*.png, one subfolder per class
  npm run imagenet9 -- sample --ckpt FILE [--class K | --class A-B] [flags]
  npm run imagenet9 -- edit --task T --ckpt FILE --dataset DIR [--class K] [flags]
  npm run imagenet9 -- teacher --dataset DIR / distill --teacher FILE --dataset DIR

Training defaults (each can be given again to change it): --model unet --size 64 --channels 3
--class-conditional, --out runs/imagenet9; --resume continues a run with its own settings.
Every other flag is the MNIST example's: \`npm run mnist -- --help\`. ImageNet itself cannot be
downloaded here; a labelled folder to try it on: \`npm run tinted-digits -- runs/tinted-cls 5000
--by-class\`, then \`npm run imagenet9 -- train --dataset runs/tinted-cls --size 32\`.
`;

const IMAGENET9: App = {
  name: 'imagenet9', help: HELP, committedModel: false, out: 'runs/imagenet9',
  commands: ['train', 'teacher', 'distill', 'sample', 'edit'],
  trainDefaults: ['--model', 'unet', '--size', '64', '--channels', '3', '--class-conditional'],
};

const argv = process.argv.slice(2);
const command = argv.find((a) => !a.startsWith('-')) ?? 'train';
const training = ['train', 'teacher', 'distill'].includes(command);
if (training && !argv.some((a) => a === '--dataset' || a.startsWith('--dataset=') || a === '--resume' || a.startsWith('--resume=')) && !argv.includes('--help') && !argv.includes('-h')) {
  console.error('error: imagenet9 trains on a folder of labelled images: give --dataset DIR (one subfolder of PNG images per class).\nRun `npm run imagenet9 -- --help` for the flags.');
  process.exit(2);
}
await runApp(argv, IMAGENET9);
