// A small WebAssembly module builder: enough of the binary format (core spec section 5 and the
// SIMD proposal's BinarySIMD.md) to emit straight-line SIMD kernels with loops at run time.
// Every module imports one shared memory as env.memory, so the same bytes run on all threads.

type ValType = 'i32' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** The body of one function: methods append instructions; locals are indices from `local()`. */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(readonly params: readonly ValType[]) {}

  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number, memarg?: { align: number; offset: number }): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    if (memarg) {
      uleb(memarg.align, this.code);
      uleb(memarg.offset, this.code);
    }
    return this;
  }

  get(i: number): this { this.code.push(0x20); uleb(i, this.code); return this; }
  set(i: number): this { this.code.push(0x21); uleb(i, this.code); return this; }
  tee(i: number): this { this.code.push(0x22); uleb(i, this.code); return this; }
  i32(v: number): this { this.code.push(0x41); sleb(v | 0, this.code); return this; }
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...b);
  }

  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Shl(): this { return this.op(0x74); }
  i32ShrU(): this { return this.op(0x76); }
  i32DivU(): this { return this.op(0x6e); }
  i32RemU(): this { return this.op(0x70); }
  i32And(): this { return this.op(0x71); }
  i32LtU(): this { return this.op(0x49); }
  i32GeU(): this { return this.op(0x4f); }
  i32Eqz(): this { return this.op(0x45); }
  i32Ne(): this { return this.op(0x47); }
  i32Eq(): this { return this.op(0x46); }

  f32Load(offset = 0): this { this.code.push(0x2a, 2); uleb(offset, this.code); return this; }
  f32Store(offset = 0): this { this.code.push(0x38, 2); uleb(offset, this.code); return this; }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32ReinterpretI32(): this { return this.op(0xbe); }
  f32DemoteF64(): this { return this.op(0xb6); }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...b);
  }
  f64Store(offset = 0): this { this.code.push(0x39, 3); uleb(offset, this.code); return this; }
  f64Add(): this { return this.op(0xa0); }
  f64Mul(): this { return this.op(0xa2); }
  f64Div(): this { return this.op(0xa3); }
  f64Sqrt(): this { return this.op(0x9f); }
  f64PromoteF32(): this { return this.op(0xbb); }
  f64ConvertI32U(): this { return this.op(0xb8); }
  f32x4ExtractLane(lane: number): this { this.simd(0x1f); this.code.push(lane); return this; }

  v128Load(offset = 0): this { return this.simd(0x00, { align: 4, offset }); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09, { align: 2, offset }); }
  v128Store(offset = 0): this { return this.simd(0x0b, { align: 4, offset }); }
  /** v128.const from four f32 lanes' bit patterns given as i32s. */
  v128ConstI32(lanes: readonly [number, number, number, number]): this {
    this.simd(0x0c);
    this.code.push(...new Uint8Array(Int32Array.from(lanes).buffer));
    return this;
  }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4ReplaceLane(lane: number): this { this.simd(0x20); this.code.push(lane); return this; }
  i32x4LtS(): this { return this.simd(0x39); }
  v128And(): this { return this.simd(0x4e); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Max(): this { return this.simd(0xe9); }
  f32x4Min(): this { return this.simd(0xe8); }
  f32x4Div(): this { return this.simd(0xe7); }
  f32x4Sqrt(): this { return this.simd(0xe3); }
  /** Relaxed SIMD's f32x4.relaxed_madd: a b c -> a b + c, fused or not as the hardware has it (only where relaxedSimd()). */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  i32x4Splat(): this { return this.simd(0x11); }
  i32x4Shl(): this { return this.simd(0xab); }
  i32x4Add(): this { return this.simd(0xae); }
  /** i8x16.shuffle by f32 lanes: lanes 0-3 pick from the first operand, 4-7 from the second. */
  f32x4Shuffle(lanes: readonly [number, number, number, number]): this {
    this.simd(0x0d);
    for (const l of lanes) this.code.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
    return this;
  }
  /** memory.fill (bulk memory): [dst, byte value, length] on the stack. */
  memoryFill(): this { return this.op(0xfc, 11, 0x00); }
  /** memory.copy (bulk memory): [dst, src, length] on the stack. */
  memoryCopy(): this { return this.op(0xfc, 10, 0x00, 0x00); }

  /** block ... end; `br` to it jumps past its end. */
  block(body: () => void): this { this.op(0x02, 0x40); body(); return this.op(0x0b); }
  /** loop ... end; `br` to it jumps back to its start. */
  loop(body: () => void): this { this.op(0x03, 0x40); body(); return this.op(0x0b); }
  if(body: () => void, orElse?: () => void): this {
    this.op(0x04, 0x40);
    body();
    if (orElse) {
      this.op(0x05);
      orElse();
    }
    return this.op(0x0b);
  }
  /** Calls the module's function number `index` (functions count in the order they were added). */
  call(index: number): this { this.code.push(0x10); uleb(index, this.code); return this; }
  br(depth: number): this { this.code.push(0x0c); uleb(depth, this.code); return this; }
  brIf(depth: number): this { this.code.push(0x0d); uleb(depth, this.code); return this; }

  /**
   * for (i = from; i < to; i += step) body(), with `i`, `to` i32 locals (to is read each turn);
   * step is a constant or, as { local }, an i32 local.
   */
  forRange(i: number, from: () => void, to: number, step: number | { local: number }, body: () => void): this {
    from();
    this.set(i);
    return this.block(() => {
      this.get(i).get(to).i32GeU().brIf(0);
      this.loop(() => {
        body();
        this.get(i);
        if (typeof step === 'number') this.i32(step);
        else this.get(step.local);
        this.i32Add().tee(i).get(to).i32LtU().brIf(0);
      });
    });
  }

  encode(): number[] {
    const out: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [n, t] of groups) {
      uleb(n, out);
      out.push(VALTYPE[t]);
    }
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return [...sized, ...out];
  }
}

interface FunctionDef {
  name: string;
  params: readonly ValType[];
  body: FunctionBody;
}

export class ModuleBuilder {
  private readonly functions: FunctionDef[] = [];

  /** Adds an exported function of i32/f32 params and no result; `build` writes its body. */
  function(name: string, params: readonly ValType[], build: (f: FunctionBody) => void): this {
    const body = new FunctionBody(params);
    build(body);
    this.functions.push({ name, params, body });
    return this;
  }

  /** The module's bytes; `sharedMemory` false imports an unshared memory (one thread, no SharedArrayBuffer). */
  encode(sharedMemory = true): Uint8Array {
    const section = (id: number, content: number[]): number[] => {
      const out = [id];
      uleb(content.length, out);
      return [...out, ...content];
    };
    const vec = (items: number[][]): number[] => {
      const out: number[] = [];
      uleb(items.length, out);
      for (const it of items) out.push(...it);
      return out;
    };
    const name = (s: string): number[] => {
      const bytes = [...new TextEncoder().encode(s)];
      const out: number[] = [];
      uleb(bytes.length, out);
      return [...out, ...bytes];
    };
    const types = vec(this.functions.map((f) => [0x60, ...vec(f.params.map((p) => [VALTYPE[p]])), 0]));
    // (import "env" "memory" (memory 1 65536 shared)): limits flag 3 = shared with a maximum, 1 = a maximum.
    const memLimits: number[] = [sharedMemory ? 0x03 : 0x01];
    uleb(1, memLimits);
    uleb(65536, memLimits);
    const imports = vec([[...name('env'), ...name('memory'), 0x02, ...memLimits]]);
    const funcs = vec(this.functions.map((_, i) => { const o: number[] = []; uleb(i, o); return o; }));
    const exports = vec(this.functions.map((f, i) => { const o = [...name(f.name), 0x00]; uleb(i, o); return o; }));
    const code = vec(this.functions.map((f) => f.body.encode()));
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, types), ...section(2, imports), ...section(3, funcs), ...section(7, exports), ...section(10, code),
    ]);
  }
}

/** Whether this runtime's WebAssembly has relaxed SIMD (f32x4.relaxed_madd validates). */
export function relaxedSimd(): boolean {
  const m = new ModuleBuilder();
  m.function('probe', [], (f) => {
    const v = f.local('v128');
    f.f32(1).f32x4Splat().f32(2).f32x4Splat().f32(3).f32x4Splat().f32x4RelaxedMadd().set(v);
  });
  return WebAssembly.validate(m.encode(false));
}
