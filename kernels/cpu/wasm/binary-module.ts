import type { BinaryOp } from '../../../src/backend/backend';
import type { FunctionBody } from './builder';
import { kernel, type Params } from './kernel-def';

// out = a op b for the layouts a U-Net's elementwise ops have: both operands contiguous
// (residual adds), or one contiguous and the other constant along rows of `run` values (a bias
// [1, C, 1, 1] or a time embedding [N, C, 1, 1] over [N, C, H, W]: row r uses b[r mod period]).

/** The binary ops with a wasm SIMD kernel: a subset of the Backend's BINARY_OPS (src/backend). */
export const WASM_BINARY_OPS = ['add', 'sub', 'mul', 'div'] as const satisfies readonly BinaryOp[];
export type WasmBinaryOp = (typeof WASM_BINARY_OPS)[number];

export const isWasmBinaryOp = (op: BinaryOp): op is WasmBinaryOp => (WASM_BINARY_OPS as readonly BinaryOp[]).includes(op);

const BINARY_SAME_PARAMS = ['a', 'b', 'out', 'begin', 'end'] as const;
const BINARY_ROWS_PARAMS = ['x', 'rowValues', 'out', 'run', 'period', 'row0', 'row1', 'rowsFirst'] as const;

/** binarySame_<op> for each op, then binaryRows_<op> for each op. */
export const BINARY_SAME = WASM_BINARY_OPS.map((op) => kernel(`binarySame_${op}`, BINARY_SAME_PARAMS, (f, p) => emitBinarySame(f, p, op)));
export const BINARY_ROWS = WASM_BINARY_OPS.map((op) => kernel(`binaryRows_${op}`, BINARY_ROWS_PARAMS, (f, p) => emitBinaryRows(f, p, op)));

const emitOp = (f: FunctionBody, op: WasmBinaryOp) => {
  if (op === 'add') f.f32x4Add();
  else if (op === 'sub') f.f32x4Sub();
  else if (op === 'mul') f.f32x4Mul();
  else f.f32x4Div();
};

const emitScalarOp = (f: FunctionBody, op: WasmBinaryOp) => {
  if (op === 'add') f.f32Add();
  else if (op === 'sub') f.f32Sub();
  else if (op === 'mul') f.f32Mul();
  else f.f32Div();
};

/** binarySame(a, b, out, begin, end): out = a op b over byte offsets [begin, end) (16-byte steps; arrays padded to whole vectors). */
function emitBinarySame(f: FunctionBody, p: Params<(typeof BINARY_SAME_PARAMS)[number]>, op: WasmBinaryOp): void {
  const { a, b, out, begin, end } = p;
  const i = f.local('i32');
  f.forRange(i, () => f.get(begin), end, 16, () => {
    f.get(out).get(i).i32Add();
    f.get(a).get(i).i32Add().v128Load();
    f.get(b).get(i).i32Add().v128Load();
    emitOp(f, op);
    f.v128Store();
  });
}

/**
 * binaryRows(x, rowValues, out, run, period, row0, row1, rowsFirst): over rows [row0, row1) of
 * `run` floats each, out = x op v (or v op x when rowsFirst is 1), v = rowValues[row mod period].
 */
function emitBinaryRows(f: FunctionBody, params: Params<(typeof BINARY_ROWS_PARAMS)[number]>, op: WasmBinaryOp): void {
  const { x, rowValues, out, run, period, row0, row1, rowsFirst } = params;
  const row = f.local('i32'), p = f.local('i32'), q = f.local('i32'), end = f.local('i32'), vecEnd = f.local('i32');
  const s = f.local('f32'), v = f.local('v128');
  const loops = (first: boolean) => {
    f.forRange(row, () => f.get(row0), row1, 1, () => {
      f.get(rowValues).get(row).get(period).i32RemU().i32(2).i32Shl().i32Add().f32Load().tee(s).f32x4Splat().set(v);
      f.get(row).get(run).i32Mul().i32(2).i32Shl().tee(p).get(out).i32Add().set(q);
      f.get(p).get(x).i32Add().tee(p).get(run).i32(2).i32Shl().i32Add().set(end);
      f.get(p).get(run).i32(-4).i32And().i32(2).i32Shl().i32Add().set(vecEnd);
      f.forRange(p, () => f.get(p), vecEnd, 16, () => {
        f.get(q);
        if (first) f.get(v).get(p).v128Load();
        else f.get(p).v128Load().get(v);
        emitOp(f, op);
        f.v128Store();
        f.get(q).i32(16).i32Add().set(q);
      });
      f.forRange(p, () => f.get(p), end, 4, () => {
        f.get(q);
        if (first) f.get(s).get(p).f32Load();
        else f.get(p).f32Load().get(s);
        emitScalarOp(f, op);
        f.f32Store();
        f.get(q).i32(4).i32Add().set(q);
      });
    });
  };
  f.get(rowsFirst).if(() => loops(true), () => loops(false));
}
