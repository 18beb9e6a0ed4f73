import { parentPort } from 'node:worker_threads';
import { installWebGPU, type AdapterReport } from './device';
import { DeviceHost } from './host';
import { FAILED, OK, type Request, SEQ, STATUS, TEXT_BYTES, TEXT_LENGTH } from './protocol';

// The device worker: owns the gpu.js instance and every buffer, and runs requests in arrival
// order. A failed fire-and-forget request is remembered and reported by the next reply.

let host: DeviceHost | null = null;
let adapter: AdapterReport | null = null;
let control: Int32Array;
let text: Uint8Array;
let pendingError: string | null = null;
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

async function handle(msg: Request): Promise<void> {
  if (msg.t === 'init') {
    control = new Int32Array(msg.control);
    text = new Uint8Array(msg.text);
    try {
      if (msg.mode === 'webgpu') adapter = await installWebGPU();
      host = new DeviceHost(msg.mode);
      // A first kernel proves the mode works and shows which mode gpu.js really chose.
      host.alloc(0, 3);
      await host.upload(0, new Float32Array([1, 2, 3]));
      const back = await host.read(0);
      host.free(0);
      if (back[2] !== 3) throw new Error(`a test kernel returned [${Array.from(back).join(', ')}] instead of [1, 2, 3]`);
      reply(OK, { adapter, stats: host.stats() });
    } catch (e) {
      reply(FAILED, { error: (e as Error).message });
    }
    return;
  }
  const h = host!;
  const replies = msg.t === 'read' || msg.t === 'stats' || msg.t === 'sync';
  try {
    if (pendingError !== null && replies) {
      const error = pendingError;
      pendingError = null;
      reply(FAILED, { error });
      return;
    }
    switch (msg.t) {
      case 'alloc': h.alloc(msg.id, msg.size); break;
      case 'upload': await h.upload(msg.id, msg.data); break;
      case 'free': msg.ids.forEach((id) => h.free(id)); break;
      case 'launch':
        for (const launch of msg.launches) {
          try {
            await h.launch(launch);
          } catch (e) {
            throw new Error(`kernel '${launch.kernel}' (output [${launch.output.join(', ')}]): ${(e as Error).message}`);
          }
        }
        msg.free.forEach((id) => h.free(id));
        break;
      case 'read': {
        const data = await h.read(msg.id);
        new Float32Array(msg.into).set(data);
        reply(OK, { length: data.length });
        break;
      }
      case 'stats': reply(OK, { adapter, stats: h.stats() }); break;
      case 'sync': reply(OK, {}); break;
    }
  } catch (e) {
    if (replies) reply(FAILED, { error: (e as Error).message });
    else pendingError ??= (e as Error).message;
  }
}

parentPort!.on('message', (msg: Request) => {
  queue = queue.then(() => handle(msg));
});
