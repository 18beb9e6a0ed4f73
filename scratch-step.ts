import { AdamW, Generator, randn, SimpleUNet } from './src/index';
import { ctStep } from './bench/step-cases';
const online = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
const target = new SimpleUNet({ channels: 1, width: 32 }, { generator: new Generator(1) });
const opt = new AdamW(online.parameters(), { lr: 1e-4 });
const gen = new Generator(2);
const x = randn([32, 1, 32, 32], { generator: gen });
console.log('params', online.parameterCount());
for (let i = 0; i < 4; i++) { const t = performance.now(); const l = ctStep(online, target, opt, x, gen); console.log('step', (performance.now() - t).toFixed(0), 'ms, loss', l.toFixed(4)); }
