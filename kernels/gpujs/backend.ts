import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type {
  Backend, BinaryOp, Conv2dGeometry, DifferentiableUnaryOp, DType, GroupNormGeometry, MatmulGeometry, ReduceOp, Shape, StridedView, UnaryOp,
} from '../../src/backend/backend';
import { planConv2d, planConv2dGradInput, planConv2dGradWeight } from './conv';
import { coversDestination, planGather, planScatter } from './copy';
import { planBinary, planFill, planUnary, planUnaryGrad, planWhere } from './elementwise';
import type { AdapterReport } from './device';
import type { GpujsMode, HostStats } from './host';
import type { Launch } from './launch';
import { planMatmul } from './matmul';
import { planGroupNorm, planGroupNormBackward } from './norm';
import { FAILED, type Request, SEQ, STATUS, TEXT_BYTES, TEXT_LENGTH } from './protocol';
import { planReduce } from './reduce';
import { planUpsample2x, planUpsample2xBackward } from './resample';

/** A buffer on the device worker, named by id; float32 only. */
export interface GpujsBuffer {
  readonly id: number;
  readonly size: number;
}

export interface GpujsBackend extends Backend<GpujsBuffer> {
  readonly name: GpujsMode;
  /** The WebGPU adapter in use (webgpu mode), null otherwise. */
  readonly adapter: AdapterReport | null;
  /** Buffers alive on the device, kernels compiled, and the gpu.js modes that really ran. */
  stats(): HostStats;
  /** Waits until every kernel issued so far has run; throws the first failure among them. */
  sync(): void;
}

const require = createRequire(import.meta.url);
const START_TIMEOUT_MS = 120_000;
const CALL_TIMEOUT_MS = 600_000;

/**
 * The worker is TypeScript: it registers tsx, then loads worker.ts. A bundled build (bench/device)
 * names its compiled worker in ONESTEP_GPUJS_WORKER instead.
 */
function startWorker(): Worker {
  const bundled = process.env.ONESTEP_GPUJS_WORKER;
  if (bundled) return new Worker(bundled);
  const tsxApi = pathToFileURL(require.resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  return new Worker(
    `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  );
}

/**
 * A backend whose kernels are the hand-written gpu.js kernels of this folder, run by one gpu.js
 * instance in a worker thread (kernels/gpujs/worker.ts). Kernel launches are posted and not
 * waited for: on `webgpu` the data stays in GPU buffers from kernel to kernel. Only reads wait,
 * blocking in Atomics.wait until the worker has copied the values back, so the Backend stays
 * synchronous like the CPU one. Buffers are freed by dispose() or, failing that, when the
 * garbage collector finds the buffer object unreachable.
 */
export function createGpujsBackend(mode: GpujsMode): GpujsBackend {
  // Mesa's EGL reads the real environment, which a worker's process.env does not reach.
  if (mode === 'webgpu') process.env.EGL_PLATFORM ??= 'surfaceless';
  const control = new Int32Array(new SharedArrayBuffer(16));
  const text = new SharedArrayBuffer(TEXT_BYTES);
  const worker = startWorker();
  worker.unref();
  let seq = 0;
  let dead: string | null = null;
  worker.on('error', (e) => (dead = e.message));
  worker.on('exit', (code) => (dead ??= `exited with code ${code}`));

  const post = (msg: Request, transfer?: ArrayBuffer[]): void => {
    if (dead) throw new Error(`${mode}: the device worker is gone (${dead}).`);
    worker.postMessage(msg, transfer);
  };
  const call = (msg: Request, timeoutMs = CALL_TIMEOUT_MS): { ok: boolean; body: Record<string, unknown> } => {
    post(msg);
    const expected = ++seq;
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(control, SEQ) < expected) {
      if (Date.now() > deadline) throw new Error(`${mode}: the device worker did not answer '${msg.t}' within ${timeoutMs / 1000} s.`);
      Atomics.wait(control, SEQ, expected - 1, 1000);
    }
    const bytes = new Uint8Array(text, 0, control[TEXT_LENGTH]!).slice();
    return { ok: control[STATUS] !== FAILED, body: JSON.parse(new TextDecoder().decode(bytes)) };
  };
  const check = (what: string, r: { ok: boolean; body: Record<string, unknown> }): Record<string, unknown> => {
    if (!r.ok) throw new Error(`${mode}: ${what} failed: ${String(r.body.error)}`);
    return r.body;
  };

  const init = call({ t: 'init', mode, control: control.buffer as SharedArrayBuffer, text }, START_TIMEOUT_MS);
  if (!init.ok) {
    void worker.terminate();
    throw new Error(`Backend '${mode}' is not available here: ${String(init.body.error)}`);
  }
  const adapter = (init.body.adapter as AdapterReport | null) ?? null;
  // Let the worker finish what is queued before the process goes: Dawn aborts the process if a
  // worker is torn down in the middle of a call.
  const drain = (): void => {
    if (dead) return;
    try {
      call({ t: 'sync' }, 30_000);
    } catch {
      // exiting anyway; an earlier failure was reported where it happened or is moot now
    }
  };
  process.on('beforeExit', drain);
  process.on('exit', drain);

  let nextId = 1;
  const freed = new FinalizationRegistry<number>((id) => {
    if (!dead) worker.postMessage({ t: 'free', ids: [id] } satisfies Request);
  });
  const make = (size: number): GpujsBuffer => {
    const buffer = { id: nextId++, size };
    freed.register(buffer, buffer.id, buffer);
    return buffer;
  };
  const allocate = (size: number): GpujsBuffer => {
    const b = make(size);
    post({ t: 'alloc', id: b.id, size });
    return b;
  };
  const temps: number[] = [];
  const temp = (size: number): number => {
    const id = nextId++;
    post({ t: 'alloc', id, size });
    temps.push(id);
    return id;
  };
  const launch = (...launches: Launch[]): void => post({ t: 'launch', launches, free: temps.splice(0) });
  const ids = (v: StridedView<GpujsBuffer>): StridedView<number> => ({ buffer: v.buffer.id, offset: v.offset, strides: v.strides });
  const float32Only = (dtype: DType): void => {
    if (dtype !== 'float32') throw new Error(`${mode}: only float32 tensors live on the gpu.js backends; ${dtype} stays on the CPU.`);
  };

  return {
    name: mode,
    adapter,
    supportsDType: (dtype) => dtype === 'float32',
    alloc(size, dtype) {
      float32Only(dtype);
      return allocate(size);
    },
    fromArray(data, dtype) {
      float32Only(dtype);
      const values = Float32Array.from(data);
      const b = make(values.length);
      post({ t: 'upload', id: b.id, data: values }, [values.buffer]);
      return b;
    },
    read(buffer) {
      const into = new SharedArrayBuffer(Math.max(buffer.size, 1) * 4);
      check('reading a buffer', call({ t: 'read', id: buffer.id, into }));
      return new Float32Array(into, 0, buffer.size).slice();
    },
    size: (buffer) => buffer.size,
    dtype: () => 'float32',
    dispose(buffer) {
      freed.unregister(buffer);
      post({ t: 'free', ids: [buffer.id] });
    },
    stats: () => check('stats', call({ t: 'stats' })).stats as HostStats,
    sync: () => void check('sync', call({ t: 'sync' })),

    fill: (out, value) => launch(planFill(out.id, out.size, value)),
    cast(x, dtype) {
      float32Only(dtype);
      const out = allocate(x.size);
      launch(planGather({ buffer: x.id, offset: 0, strides: [1] }, [x.size], out.id));
      return out;
    },
    unary: (op: UnaryOp, x, out) => launch(planUnary(op, x.id, out.id, out.size)),
    unaryGrad: (op: DifferentiableUnaryOp, x, grad, out) => launch(planUnaryGrad(op, x.id, grad.id, out.id, out.size)),
    binary: (op: BinaryOp, a, b, shape: Shape, out) => launch(planBinary(op, ids(a), ids(b), shape, out.id)),
    where: (c, a, b, shape, out) => launch(planWhere(ids(c), ids(a), ids(b), shape, out.id)),
    reduce: (op: ReduceOp, x, shape, axes, out) => launch(...planReduce(op, x.id, shape, axes, out.id, temp)),
    copy(src, shape, dst) {
      const s = ids(src), d = ids(dst);
      launch(coversDestination(shape, d, dst.buffer.size)
        ? planGather(s, shape, d.buffer)
        : planScatter(s, shape, d, dst.buffer.size, d.buffer));
    },
    matmul: (a, b, out, g: MatmulGeometry) => launch(planMatmul(a.id, b.id, out.id, g)),
    conv2d: (x, w, out, g: Conv2dGeometry) => launch(planConv2d(x.id, w.id, out.id, g)),
    conv2dGradInput: (gy, w, gx, g: Conv2dGeometry) => launch(planConv2dGradInput(gy.id, w.id, gx.id, g)),
    conv2dGradWeight: (x, gy, gw, g: Conv2dGeometry) => launch(planConv2dGradWeight(x.id, gy.id, gw.id, g)),
    groupNorm: (x, gamma, beta, out, mean, rstd, g: GroupNormGeometry) =>
      launch(...planGroupNorm(x.id, gamma.id, beta.id, out.id, mean.id, rstd.id, g)),
    groupNormBackward: (gy, x, gamma, mean, rstd, gx, gGamma, gBeta, g: GroupNormGeometry) =>
      launch(...planGroupNormBackward(gy.id, x.id, gamma.id, mean.id, rstd.id, gx.id, gGamma.id, gBeta.id, g, temp)),
    upsampleNearest2x: (x, out, planes, h, w) => launch(planUpsample2x(x.id, out.id, planes, h, w)),
    upsampleNearest2xBackward: (gy, gx, planes, h, w) => launch(planUpsample2xBackward(gy.id, gx.id, planes, h, w)),
  } satisfies GpujsBackend;
}
