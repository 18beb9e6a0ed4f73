import type { Launch } from './launch';
import type { GpujsMode } from './sources';

// Messages from the main thread to the device worker. The main thread appends allocations,
// uploads, launches and frees to a command list and posts the list in one message per flush
// (kernels/gpujs/command-queue.ts); the worker runs a flush in order and, on webgpu, encodes all
// of its launches into one command encoder and one submit (kernels/gpujs/stream.ts). A flush that
// asks something (read, stats, sync) is answered through shared memory while the main thread
// waits in Atomics.wait, which is what lets a synchronous Backend sit on an asynchronous device.

export type Command =
  | { t: 'alloc'; id: number; size: number }
  | { t: 'upload'; id: number; data: Float32Array }
  | { t: 'launch'; launch: Launch }
  | { t: 'free'; id: number };

export type Query =
  | { t: 'read'; id: number; into: SharedArrayBuffer; offset?: number; size?: number }
  | { t: 'stats' }
  /** Waits until the device has finished every launch so far (not just until they were submitted). */
  | { t: 'sync' };

export type Request =
  | { t: 'init'; mode: GpujsMode; control: SharedArrayBuffer; text: SharedArrayBuffer } // (reply)
  | { t: 'flush'; commands: Command[]; query?: Query }; // (reply when query is set)

/** Control words: a reply counter (notified), the status of the last reply, the length of its text. */
export const SEQ = 0, STATUS = 1, TEXT_LENGTH = 2;
export const OK = 0, FAILED = 1;
export const TEXT_BYTES = 1 << 16;
