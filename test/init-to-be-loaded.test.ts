import { describe, expect, it } from 'vitest';
import { Generator, noGrad, randn, tensor } from '../src/index';
import { UNet } from '../src/nn/unet';
import { SimpleUNet } from '../src/nn/simple-unet';
import type { InitOptions } from '../src/nn/layers';

const shapes = (m: SimpleUNet | UNet) => m.namedParameters().map(([name, p]) => `${name} ${p.shape.join('x')}`);

describe('InitOptions.toBeLoaded: networks built to receive a state dict', () => {
  const cases: [string, number, (init: InitOptions) => SimpleUNet | UNet][] = [
    ['SimpleUNet', 1, (init) => new SimpleUNet({ channels: 1, width: 32, numClasses: 3 }, init)],
    ['UNet', 3, (init) => new UNet({ channels: 3, modelChannels: 32, channelMult: [1, 2], numHeadChannels: 16, resblockUpdown: true, numClasses: 3 }, init)],
  ];
  for (const [name, channels, build] of cases) {
    it(`${name}: the same parameters (names, shapes), no random draws (zeros; GroupNorm's scales 1), and after loading the same function`, () => {
      const random = build({ generator: new Generator(3) });
      const empty = build({ toBeLoaded: true });
      expect(shapes(empty)).toEqual(shapes(random));
      const drawn = random.stateDict();
      for (const [key, p] of empty.namedParameters()) {
        const values = new Set(drawn[key]!.toArray() as Float32Array);
        expect(new Set(p.toArray() as Float32Array), key).toEqual(values.size === 1 && p.size > 1 ? values : new Set([0]));
      }
      empty.loadStateDict(random.stateDict());
      random.eval();
      empty.eval();
      const x = randn([2, channels, 16, 16], { generator: new Generator(4) });
      const t = tensor([0.5, 20]);
      const run = (m: SimpleUNet | UNet) => noGrad(() => m.forward(x, t, [0, 2])).toArray();
      expect(run(empty)).toEqual(run(random));
    });
  }
});
