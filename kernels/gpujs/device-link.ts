import platform from '#platform';
import { blockingProblem, type PlatformWorker } from '../../src/platform/platform';
import { FAILED, type Request, SEQ, STATUS, TEXT_BYTES, TEXT_LENGTH } from './protocol';
import type { GpujsMode } from './sources';

const CALL_TIMEOUT_MS = 600_000;

export type Reply = { ok: boolean; body: Record<string, unknown> };

/** The device worker and the shared memory its replies come through (protocol.ts). */
export class DeviceLink {
  readonly worker: PlatformWorker;
  readonly initRequest: Request;
  private readonly control: Int32Array;
  private readonly text: SharedArrayBuffer;
  private seq = 0;
  private posted = 0;
  private waited = 0;
  private gone: string | null = null;

  /** Starts the worker. */
  constructor(readonly mode: GpujsMode) {
    const problem = blockingProblem(platform);
    if (problem) throw new Error(`Backend '${mode}' cannot run here: ${problem}.`);
    this.control = new Int32Array(new SharedArrayBuffer(16));
    this.text = new SharedArrayBuffer(TEXT_BYTES);
    this.worker = platform.deviceWorker(mode === 'webgpu');
    this.worker.unref();
    this.worker.onFailure((why) => (this.gone = why));
    this.initRequest = { t: 'init', mode, control: this.control.buffer as SharedArrayBuffer, text: this.text };
  }

  /** Why the worker is gone, or null. */
  dead(): string | null {
    return this.gone;
  }

  post(msg: Request, transfer?: ArrayBuffer[]): void {
    if (this.gone) throw new Error(`${this.mode}: the device worker is gone (${this.gone}).`);
    this.posted++;
    this.worker.postMessage(msg, transfer);
  }

  /** Messages posted so far. */
  messagesPosted(): number {
    return this.posted;
  }

  /** Milliseconds spent blocked in call() so far. */
  msWaited(): number {
    return this.waited;
  }

  /** Posts `msg` (null: it was posted already) and blocks until the worker's reply to `what`. */
  call(msg: Request | null, what: string, timeoutMs = CALL_TIMEOUT_MS): Reply {
    if (msg) this.post(msg);
    const expected = ++this.seq;
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.control, SEQ) < expected) {
      if (this.gone) throw new Error(`${this.mode}: the device worker is gone (${this.gone}).`);
      if (Date.now() > deadline) throw new Error(`${this.mode}: the device worker did not answer '${what}' within ${timeoutMs / 1000} s.`);
      Atomics.wait(this.control, SEQ, expected - 1, 1000);
    }
    this.waited += performance.now() - started;
    return this.reply();
  }

  /** Posts the init request and waits for its reply without blocking. */
  async initAsync(timeoutMs: number): Promise<Reply> {
    this.post(this.initRequest);
    const expected = ++this.seq;
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.control, SEQ) < expected) {
      if (this.gone) throw new Error(`${this.mode}: the device worker is gone (${this.gone}).`);
      if (Date.now() > deadline) throw new Error(`${this.mode}: the device worker did not start within ${timeoutMs / 1000} s.`);
      await platform.yieldToEventLoop();
    }
    return this.reply();
  }

  private reply(): Reply {
    const bytes = new Uint8Array(this.text, 0, this.control[TEXT_LENGTH]!).slice();
    return { ok: this.control[STATUS] !== FAILED, body: JSON.parse(new TextDecoder().decode(bytes)) };
  }
}
