// PyTorch checkpoints (torch.save's zip archives) read in TypeScript: the fixtures saved by real
// torch (test/fixtures/torch/make_fixtures.py) read to the exact bytes torch wrote; the restricted
// unpickler refuses every global a state dict does not need (os.system, builtins.eval, ...) before
// anything could use it; and mutated archives and pickles give a FormatError or a consistent result,
// never another exception.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileAccessError, FormatError } from '../src/errors';
import { encodeSafetensors } from '../src/io/safetensors';
import { crc32 } from '../src/io/torch/crc32';
import {
  bfloat16ToFloat32, findStateDict, halfToFloat32, readTorchCheckpoint, readTorchStateDict, TorchGlobal, TorchTensor, torchTensorToFloat32, type TorchValue,
} from '../src/io/torch/index';
import { loadTorchStateDict } from '../src/io/torch/file';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'torch');
interface Expected { dtype: string; shape: number[]; hex: string; float32Hex?: string }
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { tensors: Record<string, Expected>; values?: Record<string, unknown> }>;

/** A fixture's bytes in an ArrayBuffer of their own (so views of them can be told apart from copies). */
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const hex = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** The tensors of a checkpoint by key path ('model/0.weight'), as make_fixtures.py lists them. */
function tensorsOf(value: TorchValue, prefix = '', out = new Map<string, TorchTensor>()): Map<string, TorchTensor> {
  if (value instanceof TorchTensor) out.set(prefix, value);
  else if (value instanceof Map) for (const [k, v] of value) tensorsOf(v, prefix ? `${prefix}/${String(k)}` : String(k), out);
  return out;
}

/** The FormatError `f` throws. */
function formatError(f: () => unknown): FormatError {
  try {
    f();
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw new Error(`expected a FormatError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  throw new Error('expected a FormatError, but it returned');
}

// ---- archives and pickles built by hand ------------------------------------------------------------

const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/**
 * A zip archive of stored entries as torch.save lays it out, each entry's data at a multiple of
 * `align` plus `shift` (shift != 0 misaligns the storages).
 */
function zip(entries: [string, Uint8Array][], { align = 64, shift = 0, method = 0 } = {}): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  for (const [name, data] of entries) {
    const nameBytes = [...Buffer.from(name)];
    const offset = out.length;
    const unpadded = offset + 30 + nameBytes.length;
    const pad = (((shift - unpadded) % align) + align) % align;
    const crc = crc32(data);
    const common = [...u16(20), ...u16(0), ...u16(method), ...u16(0), ...u16(0), ...u32(crc), ...u32(data.length), ...u32(data.length), ...u16(nameBytes.length)];
    out.push(...u32(0x04034b50), ...common, ...u16(pad), ...nameBytes, ...new Array<number>(pad).fill(0), ...data);
    central.push(...u32(0x02014b50), ...u16(20), ...common, ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(offset), ...nameBytes);
  }
  const start = out.length;
  out.push(...central, ...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(central.length), ...u32(start), ...u16(0));
  return Uint8Array.from(out);
}

/** A checkpoint archive: `pickle` as archive/data.pkl and each storage as archive/data/KEY. */
const archive = (pickle: Uint8Array, storages: Record<string, Uint8Array> = {}, options = {}) =>
  zip([['archive/data.pkl', pickle], ...Object.entries(storages).map(([k, v]) => [`archive/data/${k}`, v] as [string, Uint8Array]), ['archive/version', Buffer.from('3\n')]], options);

/** Pickle instructions, protocol 2 unless STACK_GLOBAL is used. */
const op = {
  proto: (v = 2) => [0x80, v],
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`)],
  stackGlobal: (module: string, name: string) => [...op.str(module), ...op.str(name), 0x93],
  str: (s: string) => [0x58, ...u32(Buffer.byteLength(s)), ...Buffer.from(s)],
  int: (v: number) => [0x4a, ...u32(v)],
  tuple: (...items: number[][]) => [0x28, ...items.flat(), 0x74],
  mark: 0x28, setitems: 0x75, emptyDict: 0x7d, emptyTuple: 0x29, reduce: 0x52, build: 0x62, binpersid: 0x51, newfalse: 0x89, stop: 0x2e,
};
const pickle = (...parts: (number | number[])[]) => Uint8Array.from(parts.flat());

/** The instructions torch.save writes for a tensor: _rebuild_tensor_v2 of a storage from the archive. */
function tensorOps(key: string, storage: string, numel: number, offset: number, size: number[], stride: number[]): number[] {
  return [
    ...op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark,
    ...op.tuple(op.str('storage'), op.global('torch', storage), op.str(key), op.str('cpu'), op.int(numel)), op.binpersid,
    ...op.int(offset), ...op.tuple(...size.map(op.int)), ...op.tuple(...stride.map(op.int)), op.newfalse,
    ...op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce,
    0x74, op.reduce,
  ];
}

/** The pickle of {name: tensor, ...}. */
const dictPickle = (entries: [string, number[]][]) => pickle(op.proto(), op.emptyDict, op.mark, ...entries.flatMap(([k, v]) => [...op.str(k), ...v]), op.setitems, op.stop);
const floats = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

// ---- fixtures saved by torch ----------------------------------------------------------------------

describe('torch checkpoints saved by torch.save read exactly', () => {
  const readable = Object.keys(expected).filter((name) => name !== 'transposed.pt');

  it.each(readable)('%s: every tensor with its dtype, shape, bytes and float32 values', (name) => {
    const bytes = fixture(name);
    const tensors = tensorsOf(readTorchCheckpoint(bytes, name));
    const want = expected[name]!.tensors;
    expect([...tensors.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [path, t] of tensors) {
      const e = want[path]!;
      expect([path, t.dtype, t.shape]).toEqual([path, e.dtype, e.shape]);
      expect(t.numel).toBe(e.shape.reduce((a, b) => a * b, 1));
      expect([path, hex(t.data)]).toEqual([path, e.hex]);
      if (e.float32Hex !== undefined) expect([path, hex(torchTensorToFloat32(t))]).toEqual([path, e.float32Hex]);
      // the values are views of the file's bytes, not copies
      expect(t.data.buffer).toBe(bytes.buffer);
    }
  });

  it("model.state_dict(): an OrderedDict in the module's order, its _metadata ignored, an int64 buffer", () => {
    const sd = readTorchStateDict(fixture('module.pt'), 'module.pt');
    expect([...sd.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight', '3.bias']);
    const tracked = sd.get('1.num_batches_tracked')!;
    expect([tracked.dtype, tracked.shape, tracked.data[0]]).toEqual(['I64', [], 7n]);
    expect(Array.from(torchTensorToFloat32(tracked))).toEqual([7]);
    // parameters (torch._utils._rebuild_parameter) read as their tensors
    const params = readTorchStateDict(fixture('params.pt'), 'params.pt');
    expect([...params.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
    expect(hex(params.get('3.weight')!.data)).toBe(hex(sd.get('3.weight')!.data));
  });

  it('a state dict under a key, beside plain values: found alone, or by its key', () => {
    const bytes = fixture('nested.pt');
    const top = readTorchCheckpoint(bytes, 'nested.pt') as Map<TorchValue, TorchValue>;
    expect(top).toBeInstanceOf(Map);
    const args = top.get('args') as TorchValue[];
    expect(args).toEqual([1, 2, [3, 4]]);
    expect([Object.isFrozen(args), Object.isFrozen(args[2])]).toEqual([false, true]); // a list, a tuple
    expect([top.get('step'), top.get('rate'), top.get('name'), top.get('big'), top.get('flag'), top.get('none')]).toEqual([10, 0.999, 'cm', 2n ** 70n, true, null]);
    expect(findStateDict(top, 'nested.pt')).toBe(top.get('model'));
    expect([...readTorchStateDict(bytes, 'nested.pt').keys()]).toEqual([...(top.get('model') as Map<string, TorchTensor>).keys()]);
    expect(readTorchStateDict(bytes, 'nested.pt', { key: 'model' }).size).toBe(9);
    expect(() => readTorchStateDict(bytes, 'nested.pt', { key: 'ema' })).toThrow(/nested\.pt is not a PyTorch checkpoint onestep can read: it holds no entry "ema" \(its top-level keys: "model", "step", .*\); pass one of those keys/);
    expect(() => readTorchStateDict(bytes, 'nested.pt', { key: 'step' })).toThrow(/its entry "step" is not a dict of tensors/);
  });

  it('several state dicts, or none: the error lists the keys to choose from', () => {
    const sd = new Map([['w', new TorchTensor('F32', [1], new Float32Array(1))]]);
    expect(() => findStateDict(new Map<TorchValue, TorchValue>([['model', sd], ['ema', sd]]), 'two.pt')).toThrow(/two\.pt .*: it holds several state dicts \("model", "ema"\); choose one with the key option/);
    expect(findStateDict(new Map<TorchValue, TorchValue>([['model', sd], ['ema', sd]]), 'two.pt', 'ema')).toBe(sd);
    expect(() => findStateDict(new Map<TorchValue, TorchValue>([['step', 3]]), 'none.pt')).toThrow(/it holds no state dict, .* \(its top-level keys: "step"\); save one with torch\.save\(model\.state_dict\(\), PATH\)/);
    expect(() => findStateDict([1, 2], 'list.pt')).toThrow(/the object saved is a list/);
    expect(findStateDict(new Map(), 'empty.pt').size).toBe(0);
  });

  it('tensors sharing one storage are views of it at their offsets', () => {
    const sd = readTorchStateDict(fixture('shared.pt'), 'shared.pt');
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((k) => sd.get(k)!);
    expect(Array.from(b!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(a!.data as Float32Array)).toEqual([2, 3, 4]);
    expect(Array.from(c!.data as Float32Array)).toEqual([5, 6, 7, 8, 9]);
    expect(Array.from(d!.data as Float32Array)).toEqual([9]);
    expect([a!.data.byteOffset - b!.data.byteOffset, c!.data.byteOffset - b!.data.byteOffset]).toEqual([8, 20]);
  });

  it('a 0-d tensor has shape [] and one value; empty tensors have none', () => {
    const sd = readTorchStateDict(fixture('scalar-empty.pt'), 'scalar-empty.pt');
    expect([sd.get('scalar')!.shape, Array.from(sd.get('scalar')!.data as Float32Array)]).toEqual([[], [3.5]]);
    expect([sd.get('empty')!.shape, sd.get('empty')!.numel, sd.get('empty2d')!.shape, sd.get('empty2d')!.numel]).toEqual([[0], 0, [2, 0, 3], 0]);
  });

  it('a file on disk by path, named in errors by its file name', () => {
    expect(loadTorchStateDict(join(FIXTURES, 'fp32.pt')).get('b')!.shape).toEqual([4]);
    expect(formatError(() => loadTorchStateDict(join(FIXTURES, 'legacy.pt'))).source).toBe('legacy.pt');
    expect(() => loadTorchStateDict(join(FIXTURES, 'missing.pt'))).toThrow(FileAccessError);
    expect(() => loadTorchStateDict(join(FIXTURES, 'missing.pt'))).toThrow(/^torch: cannot read .*missing\.pt: no such file; check the path\.$/);
  });
});

describe('torch checkpoints onestep does not read: a FormatError that names the file, the problem and the fix', () => {
  it('the legacy format of torch < 1.6', () => {
    const e = formatError(() => readTorchCheckpoint(fixture('legacy.pt'), 'legacy.pt'));
    expect(e.source).toBe('legacy.pt');
    expect(e.message).toMatch(/^torch: legacy\.pt is not a PyTorch checkpoint onestep can read: it is in the format of torch older than 1\.6 .*; load it and save it again with torch >= 1\.6: torch\.save\(torch\.load\(PATH\), NEW_PATH\)\.$/);
  });

  it('an archive re-zipped with deflate', () => {
    expect(() => readTorchCheckpoint(fixture('deflated.pt'), 'deflated.pt')).toThrow(/its zip entry "fp32\/data\.pkl" is compressed \(deflate\), .*re-zip it without compression \(zip -0\)/);
  });

  it('a transposed (non-contiguous) tensor', () => {
    expect(() => readTorchCheckpoint(fixture('transposed.pt'), 'transposed.pt')).toThrow(/a tensor of shape \[3, 2\] .* with strides \[1, 3\]: not contiguous .*torch\.save\(\{k: v\.contiguous\(\) for k, v in state_dict\.items\(\)\}, PATH\)/);
  });

  it('not a zip archive: empty, text, a safetensors file', () => {
    expect(() => readTorchCheckpoint(new Uint8Array(0), 'e.pt')).toThrow(/e\.pt .*: it is empty/);
    expect(() => readTorchCheckpoint(Buffer.from('hello world'), 't.pt')).toThrow(/t\.pt .*: it is not a zip archive/);
    const st = encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    expect(() => readTorchCheckpoint(st, 'w.safetensors')).toThrow(/it looks like a safetensors file.*; read it with decodeSafetensors or loadSafetensors/);
  });

  it('Zip64, a truncated archive, a failed CRC, a TorchScript archive', () => {
    const bytes = fixture('fp32.pt');
    const zip64 = Uint8Array.from(bytes);
    const end = zip64.length - 22;
    zip64.set(u16(0xffff), end + 10);
    expect(() => readTorchCheckpoint(zip64, 'big.pt')).toThrow(/it is a Zip64 archive \(over 4 GiB or 65535 entries\), which onestep does not read yet/);
    expect(() => readTorchCheckpoint(bytes.subarray(0, bytes.length - 30), 'cut.pt')).toThrow(/no end-of-central-directory record \(file truncated\?\)/);
    const flipped = Uint8Array.from(bytes);
    const w = readTorchStateDict(bytes, 'fp32.pt').get('w')!;
    flipped[w.data.byteOffset] ^= 1;
    expect(() => readTorchCheckpoint(flipped, 'flip.pt')).toThrow(/its zip entry "fp32\/data\/0" fails its CRC-32 check \(file corrupt\?\); re-save or re-download it/);
    expect(hex(readTorchStateDict(flipped, 'flip.pt', { checkCrc: false }).get('w')!.data)).not.toBe(hex(w.data));
    const script = zip([['m/data.pkl', pickle(op.proto(), op.emptyDict, op.stop)], ['m/constants.pkl', pickle(op.proto(), op.emptyTuple, op.stop)]]);
    expect(() => readTorchCheckpoint(script, 'm.pt')).toThrow(/it is a TorchScript archive \(torch\.jit\.save\), not a state dict/);
    const scripted = archive(pickle(op.proto(), op.global('__torch__.model', 'Net'), op.stop));
    expect(() => readTorchCheckpoint(scripted, 'n.pt')).toThrow(/TorchScript archive .*"__torch__\.model\.Net"/);
  });

  it('storages missing, of the wrong size, or too short for their tensor', () => {
    const one = dictPickle([['w', tensorOps('0', 'FloatStorage', 2, 0, [2], [1])]]);
    expect(Array.from(readTorchStateDict(archive(one, { 0: floats(1.5, -2) })).get('w')!.data as Float32Array)).toEqual([1.5, -2]);
    expect(() => readTorchCheckpoint(archive(one), 'a.pt')).toThrow(/refers to storage "0", but the archive has no data\/0 entry/);
    expect(() => readTorchCheckpoint(archive(one, { 0: floats(1) }), 'a.pt')).toThrow(/storage "0" should hold 2 F32 elements \(8 bytes\) but its entry has 4 bytes/);
    const past = dictPickle([['w', tensorOps('0', 'FloatStorage', 2, 1, [2], [1])]]);
    expect(() => readTorchCheckpoint(archive(past, { 0: floats(1, 2) }), 'a.pt')).toThrow(/a tensor of shape \[2\] at offset 1 of storage "0" \(2 F32 elements\), which runs past the end of the storage/);
    const huge = dictPickle([['w', tensorOps('0', 'FloatStorage', 2, 0, [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], [1, 1, 1])]]);
    expect(() => readTorchCheckpoint(archive(huge, { 0: floats(1, 2) }), 'a.pt')).toThrow(/runs past the end of the storage/);
    expect(() => readTorchCheckpoint(archive(one, { 0: floats(1, 2) }), 'a.pt')).not.toThrow();
    const complex = dictPickle([['w', tensorOps('0', 'ComplexFloatStorage', 1, 0, [1], [1])]]);
    expect(() => readTorchCheckpoint(archive(complex, { 0: floats(1, 2) }), 'c.pt')).toThrow(/the storage type torch\.ComplexFloatStorage, which onestep does not read/);
  });

  it('storages at offsets not aligned for their type are copied, with the same values', () => {
    const p = dictPickle([['w', tensorOps('0', 'FloatStorage', 3, 1, [2], [1])], ['d', tensorOps('1', 'DoubleStorage', 1, 0, [], [])]]);
    const storages = { 0: floats(7, 1.25, -3), 1: new Uint8Array(Float64Array.of(Math.PI).buffer) };
    for (const shift of [0, 1, 2, 3, 5]) {
      const bytes = archive(p, storages, { align: 8, shift });
      const sd = readTorchStateDict(bytes, 'shift.pt');
      expect(Array.from(sd.get('w')!.data as Float32Array)).toEqual([1.25, -3]);
      expect(Array.from(sd.get('d')!.data as Float64Array)).toEqual([Math.PI]);
      expect(sd.get('w')!.data.buffer === bytes.buffer).toBe(shift % 4 === 0);
    }
  });
});

describe('the restricted unpickler: a pickle is a program, and onestep never runs one', () => {
  const refused = (bytes: Uint8Array, qualified: string) => {
    const e = formatError(() => readTorchCheckpoint(archive(bytes), 'evil.pt'));
    expect(e.source).toBe('evil.pt');
    expect(e.message).toContain(`its pickle calls the Python global ${JSON.stringify(qualified)}, which onestep refuses: a pickle is a program and onestep never runs one`);
    expect(e.message).toMatch(/save the state dict alone: torch\.save\(model\.state_dict\(\), PATH\)\.$/);
  };

  it('GLOBAL os.system with REDUCE is refused when it is named, before any call', () => {
    refused(pickle(op.proto(), op.global('os', 'system'), op.tuple(op.str('touch /tmp/pwned')), op.reduce, op.stop), 'os.system');
    // refused at the GLOBAL itself: the garbage after it is never reached
    refused(pickle(op.proto(), op.global('os', 'system'), 0xff, 0xff), 'os.system');
    refused(pickle(op.proto(), op.emptyDict, op.str('w'), op.global('subprocess', 'Popen'), op.stop), 'subprocess.Popen');
    refused(pickle(op.proto(2), op.global('__builtin__', 'getattr'), op.stop), '__builtin__.getattr');
  });

  it('STACK_GLOBAL builtins.eval and posix.system (protocol 4) are refused', () => {
    refused(pickle(op.proto(4), op.stackGlobal('builtins', 'eval'), op.tuple(op.str('1+1')), op.reduce, op.stop), 'builtins.eval');
    refused(pickle(op.proto(4), op.stackGlobal('posix', 'system'), op.tuple(op.str('id')), op.reduce, op.stop), 'posix.system');
    refused(pickle(op.proto(4), op.stackGlobal('torch', 'load'), op.stop), 'torch.load');
    refused(pickle(op.proto(4), op.stackGlobal('torch._utils', '_rebuild_tensor'), op.stop), 'torch._utils._rebuild_tensor');
  });

  it('allowed globals used as a state dict never uses them are refused too', () => {
    const call = (g: number[], args: number[]) => archive(pickle(op.proto(), g, args, op.reduce, op.stop));
    expect(() => readTorchCheckpoint(call(op.global('collections', 'OrderedDict'), op.tuple(op.str('x'))), 'r.pt')).toThrow(/its pickle calls collections\.OrderedDict with 1 arguments, which a state dict saved by torch\.save never does/);
    expect(() => readTorchCheckpoint(call(op.global('torch', 'FloatStorage'), op.tuple()), 'r.pt')).toThrow(/calls torch\.FloatStorage with 0 arguments/);
    expect(() => readTorchCheckpoint(call(op.str('eval'), op.tuple()), 'r.pt')).toThrow(/calls a value that is not a global/);
    const buildOnList = pickle(op.proto(), 0x5d, op.emptyDict, op.build, op.stop);
    expect(() => readTorchCheckpoint(archive(buildOnList), 'b.pt')).toThrow(/sets the state of an object other than a dict \(BUILD\)/);
    const newobj = pickle(op.proto(), op.global('collections', 'OrderedDict'), op.emptyTuple, 0x81, op.stop);
    expect(() => readTorchCheckpoint(archive(newobj), 'n.pt')).toThrow(/the pickle instruction 0x81 at byte 28, which never appears in a state dict/);
    const pid = pickle(op.proto(), op.str('os.system'), op.binpersid, op.stop);
    expect(() => readTorchCheckpoint(archive(pid), 'p.pt')).toThrow(/loads a persistent object that is not a storage/);
  });

  it('plain data, OrderedDict, dtypes and torch.Size read as values', () => {
    const p = pickle(op.proto(4), op.emptyDict, op.mark,
      op.str('od'), op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce,
      op.str('dtype'), op.stackGlobal('torch', 'float16'),
      op.str('size'), op.global('torch', 'Size'), op.tuple(op.tuple(op.int(2), op.int(3))), op.reduce,
      op.str('bytes'), 0x43, 2, 0xde, 0xad,
      op.str('neg'), op.int(-5), op.str('f'), 0x47, ...new Uint8Array(new Float64Array([0.5]).buffer).reverse(),
      op.setitems, op.stop);
    const v = readTorchCheckpoint(archive(p), 'v.pt') as Map<TorchValue, TorchValue>;
    expect(v.get('od')).toEqual(new Map());
    expect(v.get('dtype')).toBeInstanceOf(TorchGlobal);
    expect((v.get('dtype') as TorchGlobal).dtype).toBe('F16');
    expect(v.get('size')).toEqual([2, 3]);
    expect(v.get('bytes')).toEqual(Uint8Array.of(0xde, 0xad));
    expect([v.get('neg'), v.get('f')]).toEqual([-5, 0.5]);
  });

  it('truncation, stack underflow, memo misses, unknown opcodes: FormatErrors that say what is wrong', () => {
    const read = (...parts: (number | number[])[]) => () => readTorchCheckpoint(archive(pickle(...parts)), 'x.pt');
    expect(read(op.proto(), op.emptyDict)).toThrow(/its data\.pkl ends at byte 3 without a STOP instruction \(file truncated or corrupt\?\)/);
    expect(read(op.proto(), 0x58, 9, 0, 0, 0, 0x41)).toThrow(/its data\.pkl ends inside the instruction at byte 2, which needs 9 more bytes than the 1 left/);
    expect(read(op.proto(), op.reduce, op.stop)).toThrow(/its data\.pkl is corrupt: an instruction takes a value from an empty stack \(instruction at byte 2\)/);
    expect(read(op.proto(), op.emptyDict, op.mark, op.stop)).toThrow(/empty stack/); // what is below a MARK is out of reach
    expect(read(op.proto(), 0x68, 4, op.stop)).toThrow(/it reads memo entry 4 before writing it/);
    expect(read(op.proto(), op.setitems, op.stop)).toThrow(/looks for a MARK that was never set/);
    expect(read(op.proto(), 0x49, ...Buffer.from('1\n'), op.stop)).toThrow(/the pickle instruction 0x49 \("I"\) at byte 2/);
    expect(read(op.proto(9), op.stop)).toThrow(/pickle protocol 9, newer than the 5 onestep reads/);
    expect(read(op.proto(), 0x8c, 2, 0xc3, 0x28, op.stop)).toThrow(/a string is not valid UTF-8/);
    expect(read(op.proto(), op.emptyTuple, op.int(1), 0x61, op.stop)).toThrow(/APPEND adds to a value that is not a list/);
  });
});

describe('conversions to float32', () => {
  it('every half-precision pattern, against the definition', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = halfToFloat32(bits);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f, f = h & 0x3ff;
      const want = e === 31 ? (f ? NaN : sign * Infinity) : e === 0 ? sign * f * 2 ** -24 : sign * 2 ** (e - 15) * (1 + f / 1024);
      if (!Object.is(got[h], want)) throw new Error(`half 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
    }
  });

  it('bfloat16 is the top half of a float32: subnormals, infinities, NaN', () => {
    const got = bfloat16ToFloat32(Uint16Array.of(0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x3f80, 0x0080, 0x7f7f));
    expect(Array.from(got)).toEqual([2 ** -133, -0, Infinity, -Infinity, NaN, 1, 2 ** -126, 3.3895313892515355e38]);
  });
});

// ---- fuzzing ----------------------------------------------------------------------------------------

const RUNS = { numRuns: 300 };
const MAX_MS = 2000;

/** Every tensor reachable from `value` (cycles allowed: a list can hold itself). */
function allTensors(value: unknown): TorchTensor[] {
  const seen = new Set<unknown>(), out: TorchTensor[] = [], todo = [value];
  while (todo.length) {
    const v = todo.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof TorchTensor) out.push(v);
    else if (Array.isArray(v)) todo.push(...v);
    else if (v instanceof Map) for (const [k, x] of v) todo.push(k, x);
  }
  return out;
}

/** Reading `bytes` gives a FormatError of our own (not a wrapped internal error) or a consistent value. */
function readsOrFormatError(bytes: Uint8Array, checkCrc: boolean): void {
  const start = performance.now();
  let value: TorchValue;
  try {
    value = readTorchCheckpoint(bytes, 'fuzz.pt', { checkCrc });
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`expected a FormatError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expect(e.message).not.toMatch(/reading it failed/); // an exception that was not a FormatError, caught by the last resort
    return;
  } finally {
    expect(performance.now() - start).toBeLessThan(MAX_MS);
  }
  for (const t of allTensors(value)) {
    expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    if (t.data.buffer === bytes.buffer) expect(t.data.byteOffset + t.data.byteLength).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
  }
}

type Mutation = { kind: 'overwrite'; at: number; bytes: Uint8Array } | { kind: 'flip'; at: number; bit: number } | { kind: 'truncate'; at: number } | { kind: 'splice'; at: number; remove: number; bytes: Uint8Array };
const position = fc.nat({ max: 1 << 14 });
const mutations = fc.array(fc.oneof(
  fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('splice' as const), at: position, remove: fc.nat({ max: 16 }), bytes: fc.uint8Array({ maxLength: 16 }) }),
), { minLength: 1, maxLength: 4 });

function mutate(base: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(base);
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    if (m.kind === 'overwrite') for (let i = 0; i < m.bytes.length && at + i < b.length; i++) b[at + i] = m.bytes[i]!;
    else if (m.kind === 'flip') { if (at < b.length) b[at] ^= 1 << m.bit; }
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(Math.min(b.length, at + m.remove))]);
  }
  return b;
}

/** A fixture's entries, so that a mutated data.pkl can be zipped again with a correct CRC. */
function entriesOf(name: string): [string, Uint8Array][] {
  const bytes = fixture(name);
  const dv = new DataView(bytes.buffer);
  const end = bytes.length - 22;
  const count = dv.getUint16(end + 10, true);
  const out: [string, Uint8Array][] = [];
  for (let i = 0, pos = dv.getUint32(end + 16, true); i < count; i++) {
    const n = dv.getUint16(pos + 28, true), local = dv.getUint32(pos + 42, true), size = dv.getUint32(pos + 24, true);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    out.push([Buffer.from(bytes.subarray(pos + 46, pos + 46 + n)).toString(), bytes.slice(start, start + size)]);
    pos += 46 + n + dv.getUint16(pos + 30, true) + dv.getUint16(pos + 32, true);
  }
  return out;
}

describe('fuzzed archives and pickles: a FormatError or a consistent value, never another exception', () => {
  const names = fc.constantFrom('module.pt', 'nested.pt', 'shared.pt', 'protocol4.pt', 'mixed.pt');

  it('random flips, overwrites, truncations and splices of whole archives, with and without CRC checks', () => {
    fc.assert(fc.property(names, mutations, fc.boolean(), (name, ms, checkCrc) => readsOrFormatError(mutate(fixture(name), ms), checkCrc)), RUNS);
  });

  it('mutated data.pkl zipped again with a correct CRC (so it reaches the unpickler)', () => {
    fc.assert(fc.property(names, mutations, (name, ms) => {
      const entries = entriesOf(name).map(([n, d]): [string, Uint8Array] => [n, n.endsWith('/data.pkl') ? mutate(d, ms) : d]);
      readsOrFormatError(zip(entries), true);
    }), RUNS);
  });

  it('pickles of random instructions and bytes', () => {
    const opcodes = [0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x4a, 0x4b, 0x4d, 0x8a, 0x8b, 0x47, 0x8c, 0x58, 0x8d, 0x43, 0x42, 0x8e, 0x5d, 0x7d, 0x29, 0x6c, 0x74, 0x85, 0x86, 0x87, 0x64, 0x61, 0x65, 0x73, 0x75, 0x71, 0x72, 0x94, 0x68, 0x6a, 0x63, 0x93, 0x52, 0x62, 0x51, 0x95, 0x2e];
    const piece = fc.oneof(
      fc.constantFrom(...opcodes).map((o) => [o]),
      fc.nat({ max: 255 }).map((b) => [b]),
      fc.constantFrom(op.global('collections', 'OrderedDict'), op.global('torch', 'FloatStorage'), op.global('torch._utils', '_rebuild_tensor_v2'), op.str('storage'), op.str('0'), op.int(2), op.int(-1)),
      fc.constant(tensorOps('0', 'FloatStorage', 4, 0, [2, 2], [2, 1])),
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
      readsOrFormatError(archive(pickle(op.proto(), ...pieces, op.stop), { 0: floats(1, 2, 3, 4) }), true);
    }), RUNS);
  });
});
