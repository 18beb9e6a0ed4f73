import type { GpujsBackend, GpujsBuffer } from '../../../kernels/gpujs/backend';
import { abs, assert, caseList, expectClose, onGpujs, ref, random, summed, type ParityCase } from './helpers';

// Index arithmetic past 2^24 elements (where float32 would go wrong), across the families that
// index a whole buffer: elementwise (unary, binary with a broadcast row), copy (transpose, pad)
// and reduce (column sums, a total).

export function largeBufferCases(backend: GpujsBackend): ParityCase[] {
  const { cases, it } = caseList();
  const { b, up, down, gpuOut, refOut, view } = onGpujs(backend);

  it('buffers over 2^24 elements: every index stays exact', () => {
    const rows = 4097, cols = 4099; // 16,793,603 elements
    const n = rows * cols;
    assert(n > 2 ** 24, 'the test buffer is over 2^24 elements');
    // distinct values in every position: an index off by one shows
    const x = Float32Array.from({ length: n }, (_, i) => (i % 8191) - 4095);
    const gx = up(x);
    const own = [cols, 1];
    const check = (what: string, out: GpujsBuffer, expected: Float32Array, tol: (i: number) => number = () => 0): void =>
      expectClose(`${what} (${expected.length} elements)`, down(out), expected, tol);

    let out = gpuOut(n), expected = refOut(n);
    b.unary('neg', gx, out);
    ref.unary('neg', x, expected);
    check('unary', out, expected);

    const row = random(cols, 3);
    out = gpuOut(n);
    b.binary('add', view(gx, own), view(up(row), [0, 1]), [rows, cols], out);
    ref.binary('add', view(x, own), view(row, [0, 1]), [rows, cols], expected);
    check('binary with a broadcast row', out, expected);

    out = gpuOut(n);
    b.copy(view(gx, [1, cols]), [cols, rows], view(out, [rows, 1]));
    ref.copy(view(x, [1, cols]), [cols, rows], view(expected, [rows, 1]));
    check('transpose', out, expected);

    const padded = [rows + 1, cols + 2];
    const np = padded[0]! * padded[1]!;
    out = gpuOut(np);
    const rPad = refOut(np);
    b.copy(view(gx, own), [rows, cols], view(out, [padded[1]!, 1], padded[1]! + 1));
    ref.copy(view(x, own), [rows, cols], view(rPad, [padded[1]!, 1], padded[1]! + 1));
    check('pad', out, rPad);

    const colSums = gpuOut(cols), rCol = refOut(cols), mag = refOut(cols);
    b.reduce('sum', gx, [rows, cols], [0], colSums);
    ref.reduce('sum', x, [rows, cols], [0], rCol);
    ref.reduce('sum', abs(x), [rows, cols], [0], mag);
    check('column sums', colSums, rCol, summed(mag));
    const total = gpuOut(1), rTotal = refOut(1), rMag = refOut(1);
    b.reduce('sum', gx, [n], [0], total);
    ref.reduce('sum', x, [n], [0], rTotal);
    ref.reduce('sum', abs(x), [n], [0], rMag);
    check('total', total, rTotal, summed(rMag));
  });
  return cases;
}
