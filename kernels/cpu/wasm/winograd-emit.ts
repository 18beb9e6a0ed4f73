import type { FunctionBody } from './builder';

// Emitter pieces the Winograd kernels share (winograd-module.ts: the forward F(2x2, 3x3);
// winograd-grad-module.ts: the weight gradient F(3x3, 2x2)).

/**
 * Sets the geometry of the zero-padded image planes the 4x4 input tiles are read from: hp x wp
 * floats (2 tilesY + 2 rows, 2 tilesX + 2 columns), rowBytes and planeBytes apart.
 */
export function paddedPlanes(
  f: FunctionBody, tilesY: number, tilesX: number, l: { hp: number; wp: number; rowBytes: number; planeBytes: number },
): void {
  f.get(tilesY).i32(2).i32Mul().i32(2).i32Add().set(l.hp);
  f.get(tilesX).i32(2).i32Mul().i32(2).i32Add().set(l.wp);
  f.get(l.wp).i32(4).i32Mul().set(l.rowBytes);
  f.get(l.rowBytes).get(l.hp).i32Mul().set(l.planeBytes);
}

/** Locals of copyPlanes: byte addresses and a row counter. */
export interface CopyLocals {
  src: number;
  dst: number;
  plane: number;
  row: number;
}

/**
 * Copies `planes` planes of rows x width floats, contiguous from the address in l.src, into planes
 * `planeBytes` apart starting at `firstRow` (an address pushed by the callback, given the plane's
 * index in l.plane) with rows `rowBytes` apart. Leaves l.src after the last value copied.
 */
export function copyPlanes(
  f: FunctionBody, l: CopyLocals, planes: number, rows: number, width: number, rowBytes: number, firstRow: () => void,
): void {
  f.forRange(l.plane, () => f.i32(0), planes, 1, () => {
    firstRow();
    f.set(l.dst);
    f.forRange(l.row, () => f.i32(0), rows, 1, () => {
      f.get(l.dst).get(l.src).get(width).i32(4).i32Mul().memoryCopy();
      f.get(l.dst).get(rowBytes).i32Add().set(l.dst);
      f.get(l.src).get(width).i32(4).i32Mul().i32Add().set(l.src);
    });
  });
}

/**
 * v[0..15] := B^T d B (F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]) of the 4x4
 * input tiles of four horizontally neighbouring 2x2 output tiles whose top left padded pixel is
 * at the address in `ptr`: lane k holds tile k, entry (row, col) is v[row 4 + col]. t: 4 temporaries.
 */
export function inputTransform2x2(f: FunctionBody, v: readonly number[], t: readonly number[], ptr: number, rowBytes: number): void {
  for (let row = 0; row < 4; row++) {
    // lanes = the four tiles; column c of tile k is padded column 2 (tx + k) + c
    const load = (offset: number) => {
      f.get(ptr);
      if (row > 0) f.get(rowBytes).i32(row).i32Mul().i32Add();
      f.v128Load(offset);
    };
    load(0); load(16); f.f32x4Shuffle([0, 2, 4, 6]).set(v[row * 4]!);
    load(0); load(16); f.f32x4Shuffle([1, 3, 5, 7]).set(v[row * 4 + 1]!);
    load(8); load(24); f.f32x4Shuffle([0, 2, 4, 6]).set(v[row * 4 + 2]!);
    load(8); load(24); f.f32x4Shuffle([1, 3, 5, 7]).set(v[row * 4 + 3]!);
  }
  // d B along each row, then B^T (d B) along each column
  const transform4 = (at: (k: number) => number) => {
    f.get(v[at(0)]!).get(v[at(2)]!).f32x4Sub().set(t[0]!);
    f.get(v[at(1)]!).get(v[at(2)]!).f32x4Add().set(t[1]!);
    f.get(v[at(2)]!).get(v[at(1)]!).f32x4Sub().set(t[2]!);
    f.get(v[at(1)]!).get(v[at(3)]!).f32x4Sub().set(t[3]!);
    for (let k = 0; k < 4; k++) f.get(t[k]!).set(v[at(k)]!);
  };
  for (let row = 0; row < 4; row++) transform4((k) => row * 4 + k);
  for (let col = 0; col < 4; col++) transform4((k) => k * 4 + col);
}
