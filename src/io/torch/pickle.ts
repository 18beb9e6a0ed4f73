// A restricted pickle interpreter. A pickle is a program for a stack machine whose instructions can
// import any Python function (GLOBAL) and call it (REDUCE); this one carries out only the
// instructions that build plain data (numbers, strings, bytes, lists, tuples, dicts) and hands
// GLOBAL, REDUCE, BUILD and BINPERSID to `PickleRules`, which interpret the few names they know and
// refuse the rest. Nothing in the pickle is ever called. Binary protocols 2 to 5; the opcodes and
// their meanings are those of CPython's Lib/pickletools.py.
//
// Values: None is null, bool a boolean, int a number (a bigint beyond 2^53), float a number, str a
// string, bytes a Uint8Array, list an array, tuple a frozen array, dict a Map (in insertion order).
import type { Fail } from './errors';
import { quoted } from './errors';

/** What GLOBAL, REDUCE, BUILD and BINPERSID mean: the only instructions that reach beyond plain data. */
export interface PickleRules {
  /** The value GLOBAL / STACK_GLOBAL push for `module.name`; refuses (throws) every name it does not know. */
  global(module: string, name: string): unknown;
  /** REDUCE: what `callable(*args)` stands for, worked out by the rules (never by calling anything). */
  reduce(callable: unknown, args: readonly unknown[]): unknown;
  /** BUILD: `target.__setstate__(state)`, interpreted. */
  build(target: unknown, state: unknown): void;
  /** BINPERSID: the object a persistent id names (torch: a storage in the archive). */
  persistentLoad(pid: unknown): unknown;
}

const HIGHEST_PROTOCOL = 5;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Python's tuple: a frozen array, told apart from a list (a mutable one) by Object.isFrozen. */
export const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);
export const isTuple = (v: unknown): v is readonly unknown[] => Array.isArray(v) && Object.isFrozen(v);

/** Runs the pickle in `bytes` under `rules` and returns the value it builds. */
export function unpickle(bytes: Uint8Array, rules: PickleRules, fail: Fail): unknown {
  return new Machine(bytes, rules, fail).run();
}

class Machine {
  private pos = 0;
  private readonly stack: unknown[] = [];
  /** Where each open MARK starts in `stack`: what is below it cannot be popped until it is closed. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly rules: PickleRules,
    private readonly fail: Fail,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): unknown {
    for (;;) {
      if (this.pos >= this.bytes.length) this.fail(`its data.pkl ends at byte ${this.pos} without a STOP instruction (file truncated or corrupt?); re-save or re-download it`);
      const at = this.pos;
      const op = this.bytes[this.pos++]!;
      if (op === 0x2e) return this.pop(at); // '.' STOP: the value on top is the result
      this.step(op, at);
    }
  }

  private step(op: number, at: number): void {
    switch (op) {
      case 0x80: { // PROTO: protocol version
        const version = this.u8(at);
        if (version > HIGHEST_PROTOCOL) this.fail(`its data.pkl is pickle protocol ${version}, newer than the ${HIGHEST_PROTOCOL} onestep reads; save it again with torch.save's default protocol`);
        return;
      }
      case 0x95: this.take(8, at); return; // FRAME: 8-byte frame length; frames need no special reading
      case 0x28: this.marks.push(this.stack.length); return; // '(' MARK
      case 0x30: // '0' POP: the top item, or the innermost mark when nothing is above it
        if (this.stack.length > this.base()) this.stack.pop();
        else this.popMark(at);
        return;
      case 0x31: this.popMark(at); return; // '1' POP_MARK
      case 0x32: this.push(this.top(at)); return; // '2' DUP
      case 0x4e: this.push(null); return; // 'N' NONE
      case 0x88: this.push(true); return; // NEWTRUE
      case 0x89: this.push(false); return; // NEWFALSE
      case 0x4a: this.push(this.view.getInt32(this.take(4, at), true)); return; // 'J' BININT: int32
      case 0x4b: this.push(this.u8(at)); return; // 'K' BININT1: uint8
      case 0x4d: this.push(this.view.getUint16(this.take(2, at), true)); return; // 'M' BININT2: uint16
      case 0x8a: this.push(this.long(this.u8(at), at)); return; // LONG1: 1-byte length, two's complement bytes
      case 0x8b: this.push(this.long(this.view.getInt32(this.take(4, at), true), at)); return; // LONG4
      case 0x47: this.push(this.view.getFloat64(this.take(8, at), false)); return; // 'G' BINFLOAT: big-endian double
      case 0x8c: this.push(this.text(this.u8(at), at)); return; // SHORT_BINUNICODE: 1-byte length, UTF-8
      case 0x58: this.push(this.text(this.view.getUint32(this.take(4, at), true), at)); return; // 'X' BINUNICODE
      case 0x8d: this.push(this.text(this.u64(at), at)); return; // BINUNICODE8
      case 0x43: this.push(this.blob(this.u8(at), at)); return; // 'C' SHORT_BINBYTES
      case 0x42: this.push(this.blob(this.view.getUint32(this.take(4, at), true), at)); return; // 'B' BINBYTES
      case 0x8e: this.push(this.blob(this.u64(at), at)); return; // BINBYTES8
      case 0x5d: this.push([]); return; // ']' EMPTY_LIST
      case 0x7d: this.push(new Map()); return; // '}' EMPTY_DICT
      case 0x29: this.push(tuple([])); return; // ')' EMPTY_TUPLE
      case 0x6c: this.push(this.popMark(at)); return; // 'l' LIST: the items since the mark
      case 0x74: this.push(tuple(this.popMark(at))); return; // 't' TUPLE: the items since the mark
      case 0x85: case 0x86: case 0x87: { // TUPLE1, TUPLE2, TUPLE3
        const items = Array.from({ length: op - 0x84 }, () => this.pop(at)).reverse();
        this.push(tuple(items));
        return;
      }
      case 0x64: { // 'd' DICT: key, value pairs since the mark
        const dict = new Map();
        this.setItems(dict, this.popMark(at), at);
        this.push(dict);
        return;
      }
      case 0x61: { // 'a' APPEND
        const item = this.pop(at);
        this.list(at).push(item);
        return;
      }
      case 0x65: { // 'e' APPENDS: the items since the mark
        const items = this.popMark(at);
        const list = this.list(at);
        for (const item of items) list.push(item);
        return;
      }
      case 0x73: { // 's' SETITEM
        const value = this.pop(at);
        const key = this.pop(at);
        this.dict(at).set(key, value);
        return;
      }
      case 0x75: { // 'u' SETITEMS: key, value pairs since the mark
        const items = this.popMark(at);
        this.setItems(this.dict(at), items, at);
        return;
      }
      case 0x71: this.memo.set(this.u8(at), this.top(at)); return; // 'q' BINPUT: 1-byte memo index
      case 0x72: this.memo.set(this.view.getUint32(this.take(4, at), true), this.top(at)); return; // 'r' LONG_BINPUT
      case 0x94: this.memo.set(this.memo.size, this.top(at)); return; // MEMOIZE: at the next free index
      case 0x68: this.push(this.recall(this.u8(at), at)); return; // 'h' BINGET
      case 0x6a: this.push(this.recall(this.view.getUint32(this.take(4, at), true), at)); return; // 'j' LONG_BINGET
      case 0x63: { // 'c' GLOBAL: "module\nname\n"
        const module = this.line(at);
        this.push(this.rules.global(module, this.line(at)));
        return;
      }
      case 0x93: { // STACK_GLOBAL: module and name from the stack
        const name = this.pop(at);
        const module = this.pop(at);
        if (typeof module !== 'string' || typeof name !== 'string') this.corrupt(at, 'STACK_GLOBAL names a global by values that are not strings');
        this.push(this.rules.global(module as string, name as string));
        return;
      }
      case 0x52: { // 'R' REDUCE: callable(*args)
        const args = this.pop(at);
        const callable = this.pop(at);
        if (!isTuple(args)) this.corrupt(at, 'REDUCE is given arguments that are not a tuple');
        this.push(this.rules.reduce(callable, args as readonly unknown[]));
        return;
      }
      case 0x62: { // 'b' BUILD: top.__setstate__(state)
        const state = this.pop(at);
        this.rules.build(this.top(at), state);
        return;
      }
      case 0x51: this.push(this.rules.persistentLoad(this.pop(at))); return; // 'Q' BINPERSID
      default:
        this.fail(`its data.pkl holds the pickle instruction 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` (${JSON.stringify(String.fromCharCode(op))})` : ''} at byte ${at}, which never appears in a state dict saved by torch.save (objects, sets, text-protocol opcodes and out-of-band buffers are not read); save the state dict alone: torch.save(model.state_dict(), PATH)`);
    }
  }

  private base(): number {
    return this.marks.length ? this.marks[this.marks.length - 1]! : 0;
  }

  private push(value: unknown): void {
    this.stack.push(value);
  }

  private pop(at: number): unknown {
    if (this.stack.length <= this.base()) this.corrupt(at, 'an instruction takes a value from an empty stack');
    return this.stack.pop();
  }

  private top(at: number): unknown {
    if (this.stack.length <= this.base()) this.corrupt(at, 'an instruction reads the top of an empty stack');
    return this.stack[this.stack.length - 1];
  }

  private popMark(at: number): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) return this.corrupt(at, 'an instruction looks for a MARK that was never set');
    return this.stack.splice(mark);
  }

  private list(at: number): unknown[] {
    const list = this.top(at);
    if (!Array.isArray(list) || isTuple(list)) return this.corrupt(at, 'APPEND adds to a value that is not a list');
    return list;
  }

  private dict(at: number): Map<unknown, unknown> {
    const dict = this.top(at);
    if (!(dict instanceof Map)) return this.corrupt(at, 'SETITEM sets a key of a value that is not a dict');
    return dict;
  }

  private setItems(dict: Map<unknown, unknown>, items: unknown[], at: number): void {
    if (items.length % 2) this.corrupt(at, 'a dict is given a key without a value');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }

  private recall(index: number, at: number): unknown {
    if (!this.memo.has(index)) this.corrupt(at, `it reads memo entry ${index} before writing it`);
    return this.memo.get(index);
  }

  /** The position of the next `n` bytes, which must be there. */
  private take(n: number, at: number): number {
    if (n > this.bytes.length - this.pos) {
      this.fail(`its data.pkl ends inside the instruction at byte ${at}, which needs ${n} more bytes than the ${this.bytes.length - this.pos} left (file truncated or corrupt?); re-save or re-download it`);
    }
    const start = this.pos;
    this.pos += n;
    return start;
  }

  private u8(at: number): number {
    return this.bytes[this.take(1, at)]!;
  }

  /** An 8-byte length; anything past the end of the data fails in `take` (so does 2^53 and above). */
  private u64(at: number): number {
    const p = this.take(8, at);
    return this.view.getUint32(p, true) + this.view.getUint32(p + 4, true) * 2 ** 32;
  }

  private long(n: number, at: number): number | bigint {
    if (n < 0) this.corrupt(at, 'a LONG4 has a negative length');
    const p = this.take(n, at);
    if (n === 0) return 0;
    let hex = '';
    for (let i = p + n - 1; i >= p; i--) hex += this.bytes[i]!.toString(16).padStart(2, '0');
    let value = BigInt(`0x${hex}`);
    if (this.bytes[p + n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
    return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  }

  private text(n: number, at: number): string {
    const p = this.take(n, at);
    try {
      return utf8.decode(this.bytes.subarray(p, p + n));
    } catch {
      return this.corrupt(at, 'a string is not valid UTF-8');
    }
  }

  private blob(n: number, at: number): Uint8Array {
    const p = this.take(n, at);
    return this.bytes.slice(p, p + n);
  }

  /** A GLOBAL's line of text, up to its newline. */
  private line(at: number): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail(`its data.pkl ends inside the GLOBAL instruction at byte ${at} (file truncated or corrupt?); re-save or re-download it`);
    const n = end - this.pos;
    const text = this.text(n, at);
    this.pos++;
    if (text.length > 1000) this.corrupt(at, `GLOBAL names ${quoted(text)}, longer than any Python name`);
    return text;
  }

  private corrupt(at: number, what: string): never {
    return this.fail(`its data.pkl is corrupt: ${what} (instruction at byte ${at}); re-save or re-download it`);
  }
}
