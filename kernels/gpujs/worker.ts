import platform from '#platform';
import type { AdapterReport } from '../../src/platform/platform';
import { DeviceHost } from './host';
import { type Command, FAILED, OK, type Query, type Request, SEQ, STATUS, TEXT_BYTES, TEXT_LENGTH } from './protocol';
import type { Executor } from './sources';
import { WebGpuStream } from './stream';

// The device worker: owns the gpu.js instance and every buffer, and runs flushes in arrival
// order, each command of a flush in order. A failure in a flush without a query is remembered
// and reported by the next reply; the flush's other commands still run, so the buffer table
// stays whole.

let executor: Executor | null = null;
let adapter: AdapterReport | null = null;
let control: Int32Array;
let text: Uint8Array;
let pendingError: string | null = null;
let messages = 0;
let queue: Promise<void> = Promise.resolve();

function reply(status: number, body: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const n = Math.min(bytes.length, TEXT_BYTES);
  text.set(bytes.subarray(0, n));
  control[STATUS] = status;
  control[TEXT_LENGTH] = n;
  Atomics.add(control, SEQ, 1);
  Atomics.notify(control, SEQ);
}

async function run(ex: Executor, c: Command): Promise<void> {
  try {
    switch (c.t) {
      case 'alloc': ex.alloc(c.id, c.size); break;
      case 'upload': await ex.upload(c.id, c.data); break;
      case 'free': ex.free(c.id); break;
      case 'launch': {
        const pending = ex.launch(c.launch);
        if (pending) await pending;
        break;
      }
    }
  } catch (e) {
    const what = c.t === 'launch' ? `kernel '${c.launch.kernel}' (output [${c.launch.output.join(', ')}])` : `${c.t} of buffer ${c.id}`;
    pendingError ??= `${what}: ${(e as Error).message}`;
  }
}

async function answer(ex: Executor, q: Query): Promise<void> {
  switch (q.t) {
    case 'read': {
      const data = await ex.read(q.id, q.offset, q.size);
      new Float32Array(q.into).set(data);
      reply(OK, { length: data.length });
      break;
    }
    case 'stats': await ex.flush(); reply(OK, { adapter, stats: { ...ex.stats(), messages } }); break;
    case 'sync': await ex.sync(); reply(OK, {}); break;
  }
}

async function handle(msg: Request): Promise<void> {
  if (msg.t === 'init') {
    control = new Int32Array(msg.control);
    text = new Uint8Array(msg.text);
    try {
      if (msg.mode === 'webgpu') adapter = await platform.installWebGPU();
      const ex: Executor = msg.mode === 'webgpu' ? new WebGpuStream() : new DeviceHost(msg.mode);
      // A first kernel proves the mode works and shows which mode gpu.js really chose.
      await ex.upload(0, new Float32Array([1, 2, 3]));
      await ex.launch({ kernel: 'unary.neg', output: [3], args: [{ buffer: 0 }], out: 0 });
      const back = await ex.read(0);
      ex.free(0);
      await ex.flush();
      if (back[2] !== -3) throw new Error(`a test kernel returned [${Array.from(back).join(', ')}] instead of [-1, -2, -3]`);
      executor = ex;
      reply(OK, { adapter, stats: { ...ex.stats(), messages } });
    } catch (e) {
      reply(FAILED, { error: (e as Error).message });
    }
    return;
  }
  messages++;
  const ex = executor!;
  for (const c of msg.commands) await run(ex, c);
  try {
    if (!msg.query) {
      ex.submit();
      return;
    }
    if (pendingError !== null) {
      await ex.flush();
      const error = pendingError;
      pendingError = null;
      reply(FAILED, { error });
      return;
    }
    await answer(ex, msg.query);
  } catch (e) {
    if (msg.query) reply(FAILED, { error: (e as Error).message });
    else pendingError ??= (e as Error).message;
  }
}

platform.parentPort().onMessage((msg) => {
  queue = queue.then(() => handle(msg as Request));
});
