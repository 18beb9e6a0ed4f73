import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

// npm run build:web: the engine as browser ES modules in dist/web/, and the demo page's scripts.
//   onestep.js            the engine (src/web.ts), what a page imports
//   onestep-gpu-worker.js the webgpu backend's device worker (gpu.js and our kernels), loaded by
//                         onestep.js from beside itself when a page asks for backend 'webgpu'
//   demo.js, demo-engine.js, train-engine.js  the demo page (examples/web/) and its sampling and
//                         training workers, which import ./onestep.js
// esbuild's browser platform sets the "browser" condition, which maps '#platform' to src/platform/browser.ts (package.json "imports").

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OUT_DIR = `${ROOT}dist/web`;

/** The demo's imports of the engine stay imports of the built ./onestep.js, so the page runs the published bundle. */
const engineAsBundle: Plugin = {
  name: 'engine-as-bundle',
  setup(b) {
    b.onResolve({ filter: /\/src\/web$/ }, () => ({ path: './onestep.js', external: true }));
  },
};

export interface WebBuild {
  /** Bytes of each file written, by name. */
  sizes: Record<string, number>;
}

export async function buildWeb({ minify = true } = {}): Promise<WebBuild> {
  const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify, sourcemap: false, logLevel: 'warning' } as const;
  await build({ ...common, entryPoints: { onestep: `${ROOT}src/web.ts` }, outdir: OUT_DIR });
  // gpu.js compiles each kernel from its function's source text (Function.prototype.toString) and
  // reads only a subset of JavaScript: renamed identifiers and the minifier's rewrites (comma
  // expressions) break it, so this bundle is minified in its whitespace only.
  await build({ ...common, minify: false, minifyWhitespace: minify, entryPoints: { 'onestep-gpu-worker': `${ROOT}kernels/gpujs/worker.ts` }, outdir: OUT_DIR });
  const demo = { demo: `${ROOT}examples/web/demo.ts`, 'demo-engine': `${ROOT}examples/web/demo-engine.ts`, 'train-engine': `${ROOT}examples/web/train-engine.ts` };
  await build({ ...common, entryPoints: demo, outdir: OUT_DIR, plugins: [engineAsBundle] });
  const sizes: Record<string, number> = {};
  for (const name of ['onestep.js', 'onestep-gpu-worker.js', 'demo.js', 'demo-engine.js', 'train-engine.js']) sizes[name] = statSync(`${OUT_DIR}/${name}`).size;
  return { sizes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { sizes } = await buildWeb();
  for (const [name, bytes] of Object.entries(sizes)) console.log(`dist/web/${name}  ${(bytes / 1024).toFixed(1)} KiB`);
}
