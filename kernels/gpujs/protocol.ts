import type { Launch } from './launch';
import type { GpujsMode } from './host';

// Messages from the main thread to the device worker. Replies to the ones marked (reply) come back
// through shared memory while the main thread waits in Atomics.wait, which is what lets a
// synchronous Backend sit on an asynchronous device.

export type Request =
  | { t: 'init'; mode: GpujsMode; control: SharedArrayBuffer; text: SharedArrayBuffer } // (reply)
  | { t: 'alloc'; id: number; size: number }
  | { t: 'upload'; id: number; data: Float32Array }
  | { t: 'launch'; launches: Launch[]; free: number[] }
  | { t: 'free'; ids: number[] }
  | { t: 'read'; id: number; into: SharedArrayBuffer } // (reply)
  | { t: 'stats' } // (reply)
  | { t: 'sync' }; // (reply)

/** Control words: a reply counter (notified), the status of the last reply, the length of its text. */
export const SEQ = 0, STATUS = 1, TEXT_LENGTH = 2;
export const OK = 0, FAILED = 1;
export const TEXT_BYTES = 1 << 16;
