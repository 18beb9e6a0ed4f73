import type { Shape, StridedView } from '../../../src/backend/backend';
import { contiguousStrides } from '../../../src/backend/strides';
import type { WasmBinaryOp } from './binary-module';
import { ceilTo, laneRanges, split } from './ranges';
import { getRuntime } from './runtime';

/**
 * How an operand's view reads along the output: 'contiguous' (element i at offset + i), or
 * 'rows': constant along rows of `run` output elements, row r reading offset + (r mod period).
 */
type Layout = { kind: 'contiguous' } | { kind: 'rows'; run: number; period: number };

function layoutOf(view: StridedView<Float32Array>, shape: Shape): Layout | null {
  const own = contiguousStrides(shape);
  if (shape.every((n, d) => n === 1 || view.strides[d] === own[d])) return { kind: 'contiguous' };
  // the dimensions it really reads must be one block, contiguous in memory, broadcast around it
  const real = shape.map((n, d) => n > 1 && view.strides[d] !== 0);
  const first = real.indexOf(true), last = real.lastIndexOf(true);
  let period = 1, expected = 1;
  for (let d = last; d >= first && d >= 0; d--) {
    if (shape[d]! === 1) continue;
    if (!real[d] || view.strides[d] !== expected) return null;
    expected *= shape[d]!;
    period *= shape[d]!;
  }
  const size = shape.reduce((x, y) => x * y, 1);
  if (first < 0) {
    // a scalar: any row length that divides the size serves; long rows, but enough to share
    const run = [4096, 1024, 256, 64, 16, 4].find((r) => size % r === 0 && size / r >= 2);
    return run ? { kind: 'rows', run, period: 1 } : null;
  }
  const run = shape.slice(last + 1).reduce((x, y) => x * y, 1);
  return run >= 4 ? { kind: 'rows', run, period } : null; // rows of 1-3 values: the JavaScript loop is as good
}

/**
 * out = a op b in wasm on all threads when the layouts are contiguous / contiguous or
 * contiguous / rows (either side); returns false, touching nothing, for other layouts.
 */
export function binaryF32(op: WasmBinaryOp, a: StridedView<Float32Array>, b: StridedView<Float32Array>, shape: Shape, out: Float32Array): boolean {
  const la = layoutOf(a, shape), lb = layoutOf(b, shape);
  if (!la || !lb || (la.kind === 'rows' && lb.kind === 'rows')) return false;
  const rt = getRuntime();
  const size = out.length, padded = ceilTo(size, 4);
  if (la.kind === 'contiguous' && lb.kind === 'contiguous') {
    rt.frame((f) => {
      const aAt = f.input(a.buffer, a.offset, size), bAt = f.input(b.buffer, b.offset, size), outAt = f.output(out, 0, size, padded);
      rt.parallel(`binarySame_${op}`, laneRanges(size, rt.threads).map(([begin, end]) => ({
        a: aAt * 4, b: bAt * 4, out: outAt * 4, begin, end,
      })));
    });
    return true;
  }
  const [full, rows, layout, rowsFirst] = la.kind === 'rows' ? [b, a, la, 1] : [a, b, lb as Layout & { kind: 'rows' }, 0];
  rt.frame((f) => {
    const xAt = f.input(full.buffer, full.offset, size), valuesAt = f.input(rows.buffer, rows.offset, layout.period);
    const outAt = f.output(out); // row by row, tails scalar: no writes past the end
    rt.parallel(`binaryRows_${op}`, split(size / layout.run, rt.threads).map(([row0, row1]) => ({
      x: xAt * 4, rowValues: valuesAt * 4, out: outAt * 4, run: layout.run, period: layout.period, row0, row1, rowsFirst,
    })));
  });
  return true;
}
