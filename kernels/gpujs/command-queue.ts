import type { DeviceLink, Reply } from './device-link';
import type { Command, Query, Request } from './protocol';

/** Launches per flush at most: the device starts on the first ones while the rest are planned. */
const FLUSH_LAUNCHES = 256;

/**
 * The commands not yet posted to the device worker. They go in one message per flush: at every
 * query (read, stats, sync) and every FLUSH_LAUNCHES launches.
 */
export class CommandQueue {
  private commands: Command[] = [];
  private transfers: ArrayBuffer[] = [];
  private launches = 0;

  constructor(private readonly link: DeviceLink) {}

  /** Appends a command; `transfer` moves with the message instead of being copied. */
  push(command: Command, transfer?: ArrayBuffer): void {
    this.commands.push(command);
    if (transfer) this.transfers.push(transfer);
  }

  /** Counts launches pushed, and flushes once FLUSH_LAUNCHES are queued. */
  launched(count: number): void {
    this.launches += count;
    if (this.launches >= FLUSH_LAUNCHES) this.flush();
  }

  /** Posts the queued commands (with a query, whose answer the caller waits for). */
  flush(query?: Query): void {
    if (!this.commands.length && !query) return;
    const msg: Request = { t: 'flush', commands: this.commands, ...(query ? { query } : {}) };
    const transfer = this.transfers;
    this.commands = [];
    this.transfers = [];
    this.launches = 0;
    this.link.post(msg, transfer);
  }

  /** Flushes with `query` and blocks until its reply. */
  call(query: Query, timeoutMs?: number): Reply {
    this.flush(query);
    return this.link.call(null, query.t, timeoutMs);
  }

  /** call(), throwing when the worker reports a failure of `what`. */
  ask(what: string, query: Query): Record<string, unknown> {
    const r = this.call(query);
    if (!r.ok) throw new Error(`${this.link.mode}: ${what} failed: ${String(r.body.error)}`);
    return r.body;
  }
}
