import platform from '#platform';
import type {
  AdamWHyper, Backend, BinaryOp, Conv2dGeometry, DifferentiableUnaryOp, DType, GroupNormGeometry, MatmulGeometry, ReduceOp, Shape, StridedView, UnaryOp,
} from '../../src/backend/backend';
import { planConv2d, planConv2dGradInput, planConv2dGradWeight } from './conv';
import { coversDestination, planConcat, planGather, planScatter } from './copy';
import { planBinary, planBinaryScalar, planFill, planUnary, planUnaryGrad, planWhere } from './elementwise';
import { blockingProblem, type AdapterReport, type PlatformWorker } from '../../src/platform/platform';
import type { Launch } from './launch';
import { planMatmul } from './matmul';
import { planGroupNorm, planGroupNormBackward } from './norm';
import { adamwSection, planAdamw, planAxpby } from './optim';
import { type Command, FAILED, type Query, type Request, SEQ, STATUS, TEXT_BYTES, TEXT_LENGTH } from './protocol';
import { planReduce } from './reduce';
import { planUpsample2x, planUpsample2xBackward } from './resample';
import type { GpujsMode, HostStats } from './sources';
import { cpuReferenceBackend } from '../cpu/index';

/** The reference loops that compute small host-side tensors (see createGpujsBackend). */
const HOST = cpuReferenceBackend as unknown as Backend<Float32Array>;

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
  /** Waits until the device has finished every kernel issued so far; throws the first failure among them. */
  sync(): void;
  /** Messages posted to the device worker so far (one per flush). */
  messagesPosted(): number;
  /** Milliseconds the main thread has spent waiting for the device worker's replies so far. */
  msWaited(): number;
}

const START_TIMEOUT_MS = 120_000;
const CALL_TIMEOUT_MS = 600_000;
/** Launches per flush at most: the device starts on the first ones while the rest are planned. */
const FLUSH_LAUNCHES = 256;
/** Tensors up to this size whose values the host knows are computed on the host (see below). */
const HOST_ELEMENTS = 4096;

/**
 * A backend whose kernels are the hand-written gpu.js kernels of this folder, run by one gpu.js
 * instance in a worker thread (kernels/gpujs/worker.ts). Allocations, uploads, launches and frees
 * are appended to a command list that is posted in one message per flush: at every read, stats or
 * sync, and every FLUSH_LAUNCHES launches. Nothing waits for a launch: on `webgpu` the data stays
 * in GPU buffers from kernel to kernel and a flush is one submit (stream.ts). Only reads wait,
 * blocking in Atomics.wait until the worker has copied the values back, so the Backend stays
 * synchronous like the CPU one. Buffers are freed by dispose() or, failing that, when the garbage
 * collector finds the buffer object unreachable.
 *
 * Small tensors (at most HOST_ELEMENTS) whose values are known here, because they were uploaded or
 * filled with a number, stay on the host, and the elementwise ops, reductions and copies among
 * them run here on kernels/cpu's reference loops (noise levels, the parametrization's
 * coefficients, time embeddings, loss weights): no launch, and reading one costs no message. A
 * binary op of a device tensor with a one-element host tensor is one binaryScalar launch with the
 * number as a uniform. A host tensor is uploaded when a device kernel first needs it.
 */
export function createGpujsBackend(mode: GpujsMode): GpujsBackend {
  if (!platform.workersStartAtOnce()) {
    throw new Error(`Backend '${mode}' must be started with \`await init({ backend: '${mode}' })\` here: its device worker starts only while this thread yields to the event loop.`);
  }
  const link = openDeviceWorker(mode);
  return backendOn(link, link.call(link.initRequest, 'init', START_TIMEOUT_MS));
}

/**
 * createGpujsBackend without blocking while the device worker starts: what a browser needs, where
 * a worker starts only while its creator yields to the event loop (init() calls this).
 */
export async function startGpujsBackend(mode: GpujsMode): Promise<GpujsBackend> {
  const link = openDeviceWorker(mode);
  let init: Reply;
  try {
    init = await link.initAsync(START_TIMEOUT_MS);
  } catch (e) {
    link.worker.terminate();
    throw e;
  }
  return backendOn(link, init);
}

type Reply = { ok: boolean; body: Record<string, unknown> };

interface DeviceLink {
  mode: GpujsMode;
  worker: PlatformWorker;
  initRequest: Request;
  /** Why the worker is gone, or null. */
  dead(): string | null;
  post(msg: Request, transfer?: ArrayBuffer[]): void;
  posted(): number;
  waited(): number;
  /** Posts `msg` (null: it was posted already) and blocks until the worker's reply to `what`. */
  call(msg: Request | null, what: string, timeoutMs?: number): Reply;
  /** Posts the init request and waits for its reply without blocking. */
  initAsync(timeoutMs: number): Promise<Reply>;
}

/** Starts the device worker; replies come through shared memory (protocol.ts). */
function openDeviceWorker(mode: GpujsMode): DeviceLink {
  const problem = blockingProblem(platform);
  if (problem) throw new Error(`Backend '${mode}' cannot run here: ${problem}.`);
  const control = new Int32Array(new SharedArrayBuffer(16));
  const text = new SharedArrayBuffer(TEXT_BYTES);
  const worker = platform.deviceWorker(mode === 'webgpu');
  worker.unref();
  let seq = 0, posted = 0, waited = 0;
  let dead: string | null = null;
  worker.onFailure((why) => (dead = why));
  const post = (msg: Request, transfer?: ArrayBuffer[]): void => {
    if (dead) throw new Error(`${mode}: the device worker is gone (${dead}).`);
    posted++;
    worker.postMessage(msg, transfer);
  };
  const reply = (): Reply => {
    const bytes = new Uint8Array(text, 0, control[TEXT_LENGTH]!).slice();
    return { ok: control[STATUS] !== FAILED, body: JSON.parse(new TextDecoder().decode(bytes)) };
  };
  const initRequest: Request = { t: 'init', mode, control: control.buffer as SharedArrayBuffer, text };
  return {
    mode, worker, initRequest,
    dead: () => dead,
    post,
    posted: () => posted,
    waited: () => waited,
    call(msg, what, timeoutMs = CALL_TIMEOUT_MS) {
      if (msg) post(msg);
      const expected = ++seq;
      const started = performance.now();
      const deadline = Date.now() + timeoutMs;
      while (Atomics.load(control, SEQ) < expected) {
        if (dead) throw new Error(`${mode}: the device worker is gone (${dead}).`);
        if (Date.now() > deadline) throw new Error(`${mode}: the device worker did not answer '${what}' within ${timeoutMs / 1000} s.`);
        Atomics.wait(control, SEQ, expected - 1, 1000);
      }
      waited += performance.now() - started;
      return reply();
    },
    async initAsync(timeoutMs) {
      post(initRequest);
      const expected = ++seq;
      const deadline = Date.now() + timeoutMs;
      while (Atomics.load(control, SEQ) < expected) {
        if (dead) throw new Error(`${mode}: the device worker is gone (${dead}).`);
        if (Date.now() > deadline) throw new Error(`${mode}: the device worker did not start within ${timeoutMs / 1000} s.`);
        await platform.yieldToEventLoop();
      }
      return reply();
    },
  };
}

function backendOn(link: DeviceLink, init: Reply): GpujsBackend {
  const { mode, worker } = link;
  if (!init.ok) {
    worker.terminate();
    throw new Error(`Backend '${mode}' is not available here: ${String(init.body.error)}`);
  }
  const adapter = (init.body.adapter as AdapterReport | null) ?? null;
  let commands: Command[] = [];
  let transfers: ArrayBuffer[] = [];
  let pendingLaunches = 0;
  /** Posts the command list (with a query, whose answer the caller waits for). */
  const flush = (query?: Query): void => {
    if (!commands.length && !query) return;
    const msg: Request = { t: 'flush', commands, ...(query ? { query } : {}) };
    const transfer = transfers;
    commands = [];
    transfers = [];
    pendingLaunches = 0;
    link.post(msg, transfer);
  };
  const call = (query: Query, timeoutMs?: number): Reply => {
    flush(query);
    return link.call(null, query.t, timeoutMs);
  };
  const check = (what: string, r: Reply): Record<string, unknown> => {
    if (!r.ok) throw new Error(`${mode}: ${what} failed: ${String(r.body.error)}`);
    return r.body;
  };
  // Let the worker finish what is queued before the process goes: Dawn aborts the process if a
  // worker is torn down in the middle of a call.
  platform.beforeExit(() => {
    if (link.dead()) return;
    try {
      call({ t: 'sync' }, 30_000);
    } catch {
      // exiting anyway; an earlier failure was reported where it happened or is moot now
    }
  });

  /**
   * Views: buffers that are a section of another device allocation (AdamW's packed outputs), by
   * id. Launches name a view by its own id; the command carries the allocation and the range. The
   * allocation is freed with its last view.
   */
  const views = new Map<number, { base: number; offset: number; size: number }>();
  const viewsAlive = new Map<number, number>();
  /** Host copies of small buffers (see above), by id; `uploaded` holds those also on the device. */
  const host = new Map<number, Float32Array>();
  const uploaded = new Set<number>();
  const materialise = (id: number): void => {
    const value = host.get(id);
    if (value === undefined || uploaded.has(id)) return;
    uploaded.add(id);
    const data = value.slice();
    commands.push({ t: 'upload', id, data });
    transfers.push(data.buffer);
  };
  const forget = (id: number): void => {
    host.delete(id);
    uploaded.delete(id);
  };
  /** Buffers a launch or an upload has written on the device (others hold nothing that matters). */
  const written = new Set<number>();
  const freeId = (id: number): void => {
    forget(id);
    written.delete(id);
    const view = views.get(id);
    if (!view) {
      commands.push({ t: 'free', id });
      return;
    }
    views.delete(id);
    const left = viewsAlive.get(view.base)! - 1;
    if (left > 0) viewsAlive.set(view.base, left);
    else {
      viewsAlive.delete(view.base);
      commands.push({ t: 'free', id: view.base });
    }
  };
  /** The host value of a buffer, or undefined when only the device has it. */
  const onHost = (b: GpujsBuffer): Float32Array | undefined => host.get(b.id);
  const hostView = (v: StridedView<GpujsBuffer>): StridedView<Float32Array> => ({ buffer: host.get(v.buffer.id)!, offset: v.offset, strides: v.strides });
  /** Runs a reference kernel on the host into a new host value for out, when out is small. */
  const onHostInto = (out: GpujsBuffer, compute: (o: Float32Array) => void): boolean => {
    if (out.size > HOST_ELEMENTS || views.has(out.id)) return false;
    const value = new Float32Array(out.size);
    compute(value);
    forget(out.id);
    host.set(out.id, value);
    return true;
  };
  let nextId = 1;
  const freed = new FinalizationRegistry<number>((id) => {
    if (!link.dead()) freeId(id);
  });
  const make = (size: number): GpujsBuffer => {
    const buffer = { id: nextId++, size };
    freed.register(buffer, buffer.id, buffer);
    return buffer;
  };
  const allocate = (size: number): GpujsBuffer => {
    const b = make(size);
    commands.push({ t: 'alloc', id: b.id, size });
    return b;
  };
  const temps: number[] = [];
  const temp = (size: number): number => {
    const id = nextId++;
    commands.push({ t: 'alloc', id, size });
    temps.push(id);
    return id;
  };
  const launch = (...launches: Launch[]): void => {
    for (const l of launches) {
      for (const a of l.args) if ('buffer' in a) materialise(a.buffer);
      forget(l.out);
      written.add(l.out);
      if (views.has(l.out)) throw new Error(`${mode}: kernel '${l.kernel}' would write into a view of another buffer; outputs are whole buffers.`);
      const args = l.args.map((a) => {
        const view = 'buffer' in a ? views.get(a.buffer) : undefined;
        return view ? { buffer: view.base, offset: view.offset, size: view.size } : a;
      });
      commands.push({ t: 'launch', launch: { ...l, args } });
    }
    for (const id of temps.splice(0)) commands.push({ t: 'free', id });
    pendingLaunches += launches.length;
    if (pendingLaunches >= FLUSH_LAUNCHES) flush();
  };
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
      if (values.length <= HOST_ELEMENTS) {
        const b = allocate(values.length);
        host.set(b.id, values);
        return b;
      }
      const b = make(values.length);
      written.add(b.id);
      commands.push({ t: 'upload', id: b.id, data: values });
      transfers.push(values.buffer);
      return b;
    },
    read(buffer) {
      const value = host.get(buffer.id);
      if (value !== undefined) return value.slice();
      const into = new SharedArrayBuffer(Math.max(buffer.size, 1) * 4);
      const view = views.get(buffer.id);
      check('reading a buffer', call(view ? { t: 'read', id: view.base, offset: view.offset, size: view.size, into } : { t: 'read', id: buffer.id, into }));
      return new Float32Array(into, 0, buffer.size).slice();
    },
    size: (buffer) => buffer.size,
    dtype: () => 'float32',
    dispose(buffer) {
      freed.unregister(buffer);
      freeId(buffer.id);
    },
    stats: () => check('stats', call({ t: 'stats' })).stats as HostStats,
    // device buffers alive in the worker (an AdamW step's three outputs share one), after the frees queued so far
    memoryStats: () => ({ liveBuffers: (check('stats', call({ t: 'stats' })).stats as HostStats).liveBuffers }),
    sync: () => void check('sync', call({ t: 'sync' })),
    messagesPosted: () => link.posted(),
    msWaited: () => link.waited(),

    fill(out, value) {
      if (onHostInto(out, (o) => o.fill(value))) return;
      launch(planFill(out.id, out.size, value));
    },
    cast(x, dtype) {
      float32Only(dtype);
      const out = allocate(x.size);
      const value = onHost(x);
      if (!(value && onHostInto(out, (o) => o.set(value)))) launch(planGather({ buffer: x.id, offset: 0, strides: [1] }, [x.size], out.id));
      return out;
    },
    unary(op: UnaryOp, x, out) {
      if (onHost(x) && onHostInto(out, (o) => HOST.unary(op, host.get(x.id)!, o))) return;
      launch(planUnary(op, x.id, out.id, out.size));
    },
    unaryGrad(op: DifferentiableUnaryOp, x, grad, out) {
      if (onHost(x) && onHost(grad) && onHostInto(out, (o) => HOST.unaryGrad(op, host.get(x.id)!, host.get(grad.id)!, o))) return;
      launch(planUnaryGrad(op, x.id, grad.id, out.id, out.size));
    },
    binary(op: BinaryOp, a, b, shape: Shape, out) {
      const ha = onHost(a.buffer), hb = onHost(b.buffer);
      if (ha && hb && onHostInto(out, (o) => HOST.binary(op, hostView(a), hostView(b), shape, o))) return;
      if (hb && b.buffer.size === 1) launch(planBinaryScalar(op, ids(a), hb[0]!, false, shape, out.id));
      else if (ha && a.buffer.size === 1) launch(planBinaryScalar(op, ids(b), ha[0]!, true, shape, out.id));
      else launch(planBinary(op, ids(a), ids(b), shape, out.id));
    },
    where(c, a, b, shape, out) {
      if (onHost(c.buffer) && onHost(a.buffer) && onHost(b.buffer) && onHostInto(out, (o) => HOST.where(hostView(c), hostView(a), hostView(b), shape, o))) return;
      launch(planWhere(ids(c), ids(a), ids(b), shape, out.id));
    },
    reduce(op: ReduceOp, x, shape, axes, out) {
      if (onHost(x) && onHostInto(out, (o) => HOST.reduce(op, host.get(x.id)!, shape, axes, o))) return;
      launch(...planReduce(op, x.id, shape, axes, out.id, temp));
    },
    copy(src, shape, dst) {
      const s = ids(src), d = ids(dst);
      const covers = coversDestination(shape, d, dst.buffer.size);
      // a destination never written holds nothing to keep: the copy can start it on the host
      if (onHost(src.buffer) && (covers || onHost(dst.buffer) || !(written.has(dst.buffer.id) || views.has(dst.buffer.id)))) {
        const before = onHost(dst.buffer);
        const done = onHostInto(dst.buffer, (o) => {
          if (before) o.set(before);
          HOST.copy(hostView(src), shape, { buffer: o, offset: dst.offset, strides: dst.strides });
        });
        if (done) return;
      }
      launch(covers
        ? planGather(s, shape, d.buffer)
        : planScatter(s, shape, d, dst.buffer.size, d.buffer));
    },
    concat(a, b, out, outer, sizeA, sizeB, inner) {
      const ha = onHost(a), hb = onHost(b);
      if (ha && hb && onHostInto(out, (o) => HOST.concat(ha, hb, o, outer, sizeA, sizeB, inner))) return;
      const one = planConcat(a.id, b.id, out.id, outer, sizeA, sizeB, inner);
      if (one) return launch(one);
      const strides = [(sizeA + sizeB) * inner, inner, 1];
      this.copy({ buffer: a, offset: 0, strides: [sizeA * inner, inner, 1] }, [outer, sizeA, inner], { buffer: out, offset: 0, strides });
      this.copy({ buffer: b, offset: 0, strides: [sizeB * inner, inner, 1] }, [outer, sizeB, inner], { buffer: out, offset: sizeA * inner, strides });
    },
    matmul: (a, b, out, g: MatmulGeometry, bias) => launch(planMatmul(a.id, b.id, out.id, g, bias?.id ?? null)),
    conv2d: (x, w, bias, out, g: Conv2dGeometry, e) => launch(planConv2d(x.id, w.id, bias?.id ?? null, out.id, g, e && {
      residual: e.residual?.id ?? null, convScale: e.convScale?.id ?? null, residualScale: e.residualScale?.id ?? null, channelAdd: e.channelAdd?.id ?? null,
    })),
    conv2dGradInput: (gy, w, gx, g: Conv2dGeometry) => launch(planConv2dGradInput(gy.id, w.id, gx.id, g)),
    conv2dGradWeight: (x, gy, gw, g: Conv2dGeometry) => launch(planConv2dGradWeight(x.id, gy.id, gw.id, g)),
    groupNorm: (x, gamma, beta, out, stats, g: GroupNormGeometry) =>
      launch(...planGroupNorm(x.id, gamma.id, beta.id, out.id, stats.id, g)),
    groupNormBackward: (gy, x, gamma, beta, stats, gx, gGamma, gBeta, g: GroupNormGeometry) =>
      launch(...planGroupNormBackward(gy.id, x.id, gamma.id, beta.id, stats.id, gx.id, gGamma.id, gBeta.id, g, temp)),
    adamw(p, g, m, v, h: AdamWHyper) {
      const section = adamwSection(p.size);
      const packed = nextId++;
      commands.push({ t: 'alloc', id: packed, size: 3 * section });
      launch(planAdamw(p.id, g.id, m.id, v.id, packed, p.size, h));
      viewsAlive.set(packed, 3);
      return [0, 1, 2].map((k) => {
        const view = make(p.size);
        views.set(view.id, { base: packed, offset: k * section, size: p.size });
        return view;
      }) as [GpujsBuffer, GpujsBuffer, GpujsBuffer];
    },
    axpby: (x, y, alpha, beta, out) => launch(planAxpby(x.id, y.id, alpha, beta, out.id, out.size)),
    upsampleNearest2x: (x, out, planes, h, w) => launch(planUpsample2x(x.id, out.id, planes, h, w)),
    upsampleNearest2xBackward: (gy, gx, planes, h, w) => launch(planUpsample2xBackward(gy.id, gx.id, planes, h, w)),
  } satisfies GpujsBackend;
}
