// TensorFlow.js with its WebGPU backend, beside this engine's webgpu backend: the same Dawn (npm
// `webgpu`), here on the main thread (ours runs in its device worker, with globals of its own).
// Every timed run ends with the result read back (await data(): in Node the webgpu backend has no
// synchronous read), so the GPU's work is inside the time.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { BenchCase } from './harness';
import { onTfjsBackend } from './tfjs-select';
import { tfjsCtStepCase, tfjsSampleCase } from './tfjs-step';

type Adapter = { info?: Record<string, string | boolean> };
type Gpu = { requestAdapter: (o?: object) => Promise<Adapter | null>; wgslLanguageFeatures?: unknown };
type Dawn = { create: (flags: string[]) => Gpu; globals: object };

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;
let software = false;
let device: (EventTarget & { queue: { onSubmittedWorkDone: () => Promise<void> } }) | null = null;
const gpuErrors: string[] = [];

function hasVulkanLoader(): boolean {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return dirs.some((d) => d && existsSync(`${d}/libvulkan.so.1`));
}

/**
 * The adapter search of src/platform/dawn.ts: a hardware adapter on Vulkan, else Mesa's software
 * OpenGL ES in compatibility mode; ONESTEP_WEBGPU_BACKEND=vulkan|opengles forces one. Installs the
 * WebGPU globals and `navigator.gpu` (which TF.js's webgpu backend looks for when it is imported).
 */
async function installNavigatorGpu(): Promise<string> {
  process.env.EGL_PLATFORM ??= 'surfaceless'; // read by Mesa's EGL when Dawn opens OpenGL ES
  const dawn = (await import('webgpu')) as unknown as Dawn;
  Object.assign(globalThis, dawn.globals);
  const forced = process.env.ONESTEP_WEBGPU_BACKEND;
  const order = forced === 'vulkan' || forced === 'opengles' ? [forced] : hasVulkanLoader() ? ['vulkan', 'opengles'] : ['opengles'];
  const tried: string[] = [];
  for (const backend of order) {
    const options = backend === 'opengles' ? { featureLevel: 'compatibility' } : {};
    let gpu: Gpu, adapter: Adapter | null;
    try {
      gpu = dawn.create([`backend=${backend}`]);
      adapter = await gpu.requestAdapter(options);
    } catch (e) {
      tried.push(`${backend}: ${(e as Error).message}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${backend}: no adapter`);
      continue;
    }
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter((p) => p).join(', ') || 'unknown adapter';
    software = SOFTWARE.test(name) || info.isFallbackAdapter === true;
    if (backend === 'vulkan' && software && !forced) {
      tried.push(`vulkan: only a software adapter (${name})`);
      continue;
    }
    (globalThis as { navigator?: unknown }).navigator = {
      gpu: {
        requestAdapter: (o: object = {}) => gpu.requestAdapter({ ...options, ...o }),
        getPreferredCanvasFormat: () => 'rgba8unorm',
        wgslLanguageFeatures: gpu.wgslLanguageFeatures,
      },
    };
    return `${name} (${backend}${software ? ', software' : ''})`;
  }
  throw new Error(`no WebGPU adapter (${tried.join('; ')})`);
}

/** Starts TF.js's webgpu backend; returns the backend and adapter. Call once, before the cases' setups. */
export async function initTfjsWebgpu(): Promise<string> {
  const adapter = await installNavigatorGpu();
  await import('@tensorflow/tfjs-backend-webgpu'); // registers 'webgpu' only if navigator.gpu exists
  // Otherwise ops whose inputs are small and still on the CPU run on TF.js's CPU kernels.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js: the webgpu backend failed to initialise.');
  await tf.ready();
  device = (tf.backend() as unknown as { device: NonNullable<typeof device> }).device;
  device.addEventListener('uncapturederror', (e) => gpuErrors.push(String((e as Event & { error?: Error }).error?.message)));
  return `${tf.getBackend()} on ${adapter}`;
}

/** Whether the adapter initTfjsWebgpu found is a software one (then one timed sample is enough). */
export const tfjsWebgpuSoftware = (): boolean => software;

/**
 * A kernel that Dawn refuses (WGSL that does not compile, a failed validation) is an event, not an
 * exception, and its output then reads as zeros: a case fails on the first such error during its
 * setup (which checks its results) or its runs.
 */
function failOnGpuErrors(c: BenchCase): BenchCase {
  const check = (): void => {
    if (gpuErrors.length) throw new Error(`${c.name} [${c.backend}]: Dawn rejected TF.js's work: ${gpuErrors[0]!.split('\n')[0]}`);
  };
  return {
    ...c,
    setup: async () => {
      gpuErrors.length = 0;
      const run = await c.setup();
      await device?.queue.onSubmittedWorkDone();
      await new Promise((resolve) => setImmediate(resolve));
      check();
      return async () => {
        await run();
        check();
      };
    },
  };
}

const LAUNCHES = 2000;

/** 2,000 dependent adds of 16 floats, then one read: the cost of a launch, not of arithmetic. */
export function tfjsLaunchChainCase(): BenchCase {
  let x0: tf.Tensor | null = null, y: tf.Tensor | null = null;
  const chain = async (): Promise<Float32Array> => {
    let x = x0!;
    for (let i = 0; i < LAUNCHES; i++) {
      const next = tf.add(x, y!);
      if (x !== x0) x.dispose();
      x = next;
    }
    const values = (await x.data()) as Float32Array;
    x.dispose();
    return values;
  };
  return onTfjsBackend('webgpu', {
    name: `launch-chain-${LAUNCHES}-add16`,
    backend: 'tfjs-webgpu',
    launches: LAUNCHES,
    setup: async () => {
      x0 = tf.zeros([16]);
      y = tf.ones([16]);
      const values = await chain();
      if (!values.every((v) => v === LAUNCHES)) throw new Error(`launch chain: got ${values[0]}, expected ${LAUNCHES}.`);
      return async () => void (await chain());
    },
    teardown: () => tf.dispose([x0!, y!]),
  });
}

/** The launch chain, the SimpleUNet CT step and 1-step sampling at batch `batch` on TF.js-WebGPU. */
export function tfjsWebgpuCases(batch = 32): BenchCase[] {
  return [tfjsLaunchChainCase(), tfjsCtStepCase('webgpu', batch), tfjsSampleCase('webgpu', batch)].map(failOnGpuErrors);
}
