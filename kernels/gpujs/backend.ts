import platform from '#platform';
import type {
  AdamWHyper, Backend, BinaryOp, Conv2dGeometry, DifferentiableUnaryOp, DType, GroupNormGeometry, MatmulGeometry, ReduceOp, Shape, StridedView, UnaryOp,
} from '../../src/backend/backend';
import type { AdapterReport } from '../../src/platform/platform';
import { CommandQueue } from './command-queue';
import { planConv2d, planConv2dGradInput, planConv2dGradWeight } from './conv';
import { coversDestination, planConcat, planGather, planScatter } from './copy';
import { DeviceBuffers, type GpujsBuffer } from './device-buffers';
import { DeviceLink, type Reply } from './device-link';
import { planBinary, planBinaryScalar, planFill, planUnary, planUnaryGrad, planWhere } from './elementwise';
import { HostMirror } from './host-mirror';
import type { Launch } from './launch';
import { planMatmul } from './matmul';
import { planGroupNorm, planGroupNormBackward } from './norm';
import { adamwSection, planAdamw, planAxpby } from './optim';
import { planReduce } from './reduce';
import { planUpsample2x, planUpsample2xBackward } from './resample';
import { planSoftmax, planSoftmaxBackward } from './softmax';
import type { GpujsMode, HostStats } from './sources';
import { cpuReferenceBackend } from '../cpu/index';

export type { GpujsBuffer } from './device-buffers';

/** The reference loops that compute small host-side tensors (see createGpujsBackend). */
const HOST = cpuReferenceBackend as unknown as Backend<Float32Array>;

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

/**
 * A backend whose kernels are the hand-written gpu.js kernels of this folder, run by one gpu.js
 * instance in a worker thread (kernels/gpujs/worker.ts, reached through DeviceLink). Allocations,
 * uploads, launches and frees are appended to a command list that is posted in one message per
 * flush (CommandQueue): at every read, stats or sync, and every FLUSH_LAUNCHES launches. Nothing
 * waits for a launch: on `webgpu` the data stays in GPU buffers from kernel to kernel and a flush
 * is one submit (stream.ts). Only reads wait, blocking in Atomics.wait until the worker has copied
 * the values back, so the Backend stays synchronous like the CPU one. Buffers are freed by
 * dispose() or, failing that, when the garbage collector finds the buffer object unreachable
 * (DeviceBuffers).
 *
 * Small tensors (at most HOST_ELEMENTS) whose values are known here, because they were uploaded or
 * filled with a number, stay on the host (HostMirror), and the elementwise ops, reductions and
 * copies among them run here on kernels/cpu's reference loops (noise levels, the parametrization's
 * coefficients, time embeddings, loss weights): no launch, and reading one costs no message. A
 * binary op of a device tensor with a one-element host tensor is one binaryScalar launch with the
 * number as a uniform. A host tensor is uploaded when a device kernel first needs it.
 */
export function createGpujsBackend(mode: GpujsMode): GpujsBackend {
  if (!platform.workersStartAtOnce()) {
    throw new Error(`Backend '${mode}' must be started with \`await init({ backend: '${mode}' })\` here: its device worker starts only while this thread yields to the event loop.`);
  }
  const link = new DeviceLink(mode);
  return backendOn(link, link.call(link.initRequest, 'init', START_TIMEOUT_MS));
}

/**
 * createGpujsBackend without blocking while the device worker starts: what a browser needs, where
 * a worker starts only while its creator yields to the event loop (init() calls this).
 */
export async function startGpujsBackend(mode: GpujsMode): Promise<GpujsBackend> {
  const link = new DeviceLink(mode);
  let init: Reply;
  try {
    init = await link.initAsync(START_TIMEOUT_MS);
  } catch (e) {
    link.worker.terminate();
    throw e;
  }
  return backendOn(link, init);
}

function backendOn(link: DeviceLink, init: Reply): GpujsBackend {
  const { mode, worker } = link;
  if (!init.ok) {
    worker.terminate();
    throw new Error(`Backend '${mode}' is not available here: ${String(init.body.error)}`);
  }
  const adapter = (init.body.adapter as AdapterReport | null) ?? null;
  const queue = new CommandQueue(link);
  const mirror = new HostMirror(queue);
  const buffers = new DeviceBuffers(queue, mirror, link);
  // Let the worker finish what is queued before the process goes: Dawn aborts the process if a
  // worker is torn down in the middle of a call.
  platform.beforeExit(() => {
    if (link.dead()) return;
    try {
      queue.call({ t: 'sync' }, 30_000);
    } catch {
      // exiting anyway; an earlier failure was reported where it happened or is moot now
    }
  });

  /** Runs a reference kernel on the host into a new host value for out, when out is small and a whole buffer. */
  const onHostInto = (out: GpujsBuffer, compute: (o: Float32Array) => void): boolean => !buffers.isView(out.id) && mirror.compute(out, compute);
  const temp = (size: number): number => buffers.temp(size);
  const launch = (...launches: Launch[]): void => {
    for (const l of launches) {
      for (const a of l.args) if ('buffer' in a) mirror.upload(a.buffer);
      mirror.forget(l.out);
      buffers.markWritten(l.out);
      if (buffers.isView(l.out)) throw new Error(`${mode}: kernel '${l.kernel}' would write into a view of another buffer; outputs are whole buffers.`);
      // a launch names a view by its own id; the command carries the view's allocation and range
      const args = l.args.map((a) => {
        const view = 'buffer' in a ? buffers.view(a.buffer) : undefined;
        return view ? { buffer: view.base, offset: view.offset, size: view.size } : a;
      });
      queue.push({ t: 'launch', launch: { ...l, args } });
    }
    buffers.freeTemps();
    queue.launched(launches.length);
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
      return buffers.allocate(size);
    },
    fromArray(data, dtype) {
      float32Only(dtype);
      const values = Float32Array.from(data);
      if (mirror.fits(values)) {
        const b = buffers.allocate(values.length);
        mirror.hold(b, values);
        return b;
      }
      const b = buffers.create(values.length);
      buffers.markWritten(b.id);
      queue.push({ t: 'upload', id: b.id, data: values }, values.buffer);
      return b;
    },
    read(buffer) {
      const value = mirror.get(buffer);
      if (value !== undefined) return value.slice();
      const into = new SharedArrayBuffer(Math.max(buffer.size, 1) * 4);
      const view = buffers.view(buffer.id);
      queue.ask('reading a buffer', view ? { t: 'read', id: view.base, offset: view.offset, size: view.size, into } : { t: 'read', id: buffer.id, into });
      return new Float32Array(into, 0, buffer.size).slice();
    },
    size: (buffer) => buffer.size,
    dtype: () => 'float32',
    dispose: (buffer) => buffers.dispose(buffer),
    stats: () => queue.ask('stats', { t: 'stats' }).stats as HostStats,
    // device buffers alive in the worker (an AdamW step's three outputs share one), after the frees queued so far
    memoryStats: () => ({ liveBuffers: (queue.ask('stats', { t: 'stats' }).stats as HostStats).liveBuffers }),
    sync: () => void queue.ask('sync', { t: 'sync' }),
    messagesPosted: () => link.messagesPosted(),
    msWaited: () => link.msWaited(),

    fill(out, value) {
      if (onHostInto(out, (o) => o.fill(value))) return;
      launch(planFill(out.id, out.size, value));
    },
    cast(x, dtype) {
      float32Only(dtype);
      const out = buffers.allocate(x.size);
      const value = mirror.get(x);
      if (!(value && onHostInto(out, (o) => o.set(value)))) launch(planGather({ buffer: x.id, offset: 0, strides: [1] }, [x.size], out.id));
      return out;
    },
    unary(op: UnaryOp, x, out) {
      if (mirror.get(x) && onHostInto(out, (o) => HOST.unary(op, mirror.get(x)!, o))) return;
      launch(planUnary(op, x.id, out.id, out.size));
    },
    unaryGrad(op: DifferentiableUnaryOp, x, grad, out) {
      if (mirror.get(x) && mirror.get(grad) && onHostInto(out, (o) => HOST.unaryGrad(op, mirror.get(x)!, mirror.get(grad)!, o))) return;
      launch(planUnaryGrad(op, x.id, grad.id, out.id, out.size));
    },
    binary(op: BinaryOp, a, b, shape: Shape, out) {
      const ha = mirror.get(a.buffer), hb = mirror.get(b.buffer);
      if (ha && hb && onHostInto(out, (o) => HOST.binary(op, mirror.view(a), mirror.view(b), shape, o))) return;
      if (hb && b.buffer.size === 1) launch(planBinaryScalar(op, ids(a), hb[0]!, false, shape, out.id));
      else if (ha && a.buffer.size === 1) launch(planBinaryScalar(op, ids(b), ha[0]!, true, shape, out.id));
      else launch(planBinary(op, ids(a), ids(b), shape, out.id));
    },
    where(c, a, b, shape, out) {
      if (mirror.get(c.buffer) && mirror.get(a.buffer) && mirror.get(b.buffer) && onHostInto(out, (o) => HOST.where(mirror.view(c), mirror.view(a), mirror.view(b), shape, o))) return;
      launch(planWhere(ids(c), ids(a), ids(b), shape, out.id));
    },
    reduce(op: ReduceOp, x, shape, axes, out) {
      if (mirror.get(x) && onHostInto(out, (o) => HOST.reduce(op, mirror.get(x)!, shape, axes, o))) return;
      launch(...planReduce(op, x.id, shape, axes, out.id, temp));
    },
    softmax(x, out, rows, cols) {
      if (mirror.get(x) && onHostInto(out, (o) => HOST.softmax(mirror.get(x)!, o, rows, cols))) return;
      launch(...planSoftmax(x.id, out.id, rows, cols, temp));
    },
    softmaxBackward(y, gy, gx, rows, cols) {
      if (mirror.get(y) && mirror.get(gy) && onHostInto(gx, (o) => HOST.softmaxBackward(mirror.get(y)!, mirror.get(gy)!, o, rows, cols))) return;
      launch(...planSoftmaxBackward(y.id, gy.id, gx.id, rows, cols, temp));
    },
    copy(src, shape, dst) {
      const s = ids(src), d = ids(dst);
      const covers = coversDestination(shape, d, dst.buffer.size);
      // a destination never written holds nothing to keep: the copy can start it on the host
      if (mirror.get(src.buffer) && (covers || mirror.get(dst.buffer) || !(buffers.wasWritten(dst.buffer.id) || buffers.isView(dst.buffer.id)))) {
        const before = mirror.get(dst.buffer);
        const done = onHostInto(dst.buffer, (o) => {
          if (before) o.set(before);
          HOST.copy(mirror.view(src), shape, { buffer: o, offset: dst.offset, strides: dst.strides });
        });
        if (done) return;
      }
      launch(covers
        ? planGather(s, shape, d.buffer)
        : planScatter(s, shape, d, dst.buffer.size, d.buffer));
    },
    concat(a, b, out, outer, sizeA, sizeB, inner) {
      const ha = mirror.get(a), hb = mirror.get(b);
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
      const packed = buffers.allocateId(3 * section);
      launch(planAdamw(p.id, g.id, m.id, v.id, packed, p.size, h));
      return buffers.sections(packed, 3, section, p.size) as [GpujsBuffer, GpujsBuffer, GpujsBuffer];
    },
    axpby: (x, y, alpha, beta, out) => launch(planAxpby(x.id, y.id, alpha, beta, out.id, out.size)),
    upsampleNearest2x: (x, out, planes, h, w) => launch(planUpsample2x(x.id, out.id, planes, h, w)),
    upsampleNearest2xBackward: (gy, gx, planes, h, w) => launch(planUpsample2xBackward(gy.id, gx.id, planes, h, w)),
  } satisfies GpujsBackend;
}
