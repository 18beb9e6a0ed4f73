import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { adapterReport, type AdapterReport } from './platform';

// WebGPU for Node: Dawn through the npm package `webgpu`. Node has no `navigator`, so gpu.js's
// WebGPU mode finds the adapter through the shim installed here. Runs inside the device worker.

const require = createRequire(import.meta.url);

type Adapter = { info?: Record<string, string | boolean>; requestDevice: (...a: unknown[]) => Promise<unknown> };
type Gpu = { requestAdapter: (o?: object) => Promise<Adapter | null>; wgslLanguageFeatures?: unknown };

/** Dawn prints a page of errors when Vulkan has no loader; look for one first. */
function hasVulkanLoader(): boolean {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return dirs.some((d) => d && existsSync(`${d}/libvulkan.so.1`));
}

/**
 * Finds an adapter: a hardware one through Dawn's default backend (Vulkan on Linux) first, else
 * Mesa's software OpenGL ES in compatibility mode (what CI and GPU-less machines have).
 * ONESTEP_WEBGPU_BACKEND=vulkan|opengles forces one. Installs `navigator.gpu` for gpu.js.
 */
export async function installWebGPU(): Promise<AdapterReport> {
  let webgpu: { create: (flags: string[]) => Gpu; globals: object };
  try {
    webgpu = require('webgpu');
  } catch (e) {
    throw new Error(
      `webgpu: the npm package 'webgpu' (Dawn) failed to load: ${(e as Error).message}. ` +
        'Run `npm ci` (it is pinned to 0.6.2 by package.json overrides; 0.2.9 needs GLIBC 2.38).',
    );
  }
  Object.assign(globalThis, webgpu.globals);
  const forced = process.env.ONESTEP_WEBGPU_BACKEND;
  const tried: string[] = [];
  const attempt = async (backend: 'vulkan' | 'opengles'): Promise<{ gpu: Gpu; adapter: Adapter; options: object } | null> => {
    const flags = backend === 'vulkan' ? ['backend=vulkan'] : ['backend=opengles'];
    const options = backend === 'opengles' ? { featureLevel: 'compatibility' } : {};
    try {
      const gpu = webgpu.create(flags);
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) tried.push(`${backend}: no adapter`);
      return adapter ? { gpu, adapter, options } : null;
    } catch (e) {
      tried.push(`${backend}: ${(e as Error).message}`);
      return null;
    }
  };
  const order: ('vulkan' | 'opengles')[] =
    forced === 'vulkan' ? ['vulkan'] : forced === 'opengles' ? ['opengles'] : hasVulkanLoader() ? ['vulkan', 'opengles'] : ['opengles'];
  if (!order.includes('vulkan')) tried.push('vulkan: no libvulkan.so.1');
  for (const backend of order) {
    const found = await attempt(backend);
    if (!found) continue;
    const { description, software } = adapterReport(found.adapter.info, backend);
    if (backend === 'vulkan' && software && !forced) {
      tried.push(`vulkan: only a software adapter (${description})`);
      continue;
    }
    const { gpu, options } = found;
    (globalThis as { navigator?: unknown }).navigator = {
      gpu: {
        requestAdapter: (o: object = {}) => gpu.requestAdapter({ ...options, ...o }),
        getPreferredCanvasFormat: () => 'rgba8unorm',
        wgslLanguageFeatures: gpu.wgslLanguageFeatures,
      },
    };
    return { description, backend, software };
  }
  throw new Error(
    `webgpu: no WebGPU adapter (${tried.join('; ')}). On a machine without a GPU, install Mesa's software OpenGL ES ` +
      '(Debian: apt-get install libegl1 libgles2 libgl1-mesa-dri); on an NVIDIA machine, the Vulkan loader (libvulkan1) and the driver.',
  );
}
