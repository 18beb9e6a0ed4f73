import type { ReduceOp, Shape } from '../../src/backend/backend';
import { buf, checkGrid, int, type KernelThis, type Launch, launchSize, MAX_GRID_Z } from './launch';

/**
 * One reduction stage over x viewed as [outer, R, inner]: thread (x, y) picks the kept element
 * at x*sx + y*sy, thread z picks a chunk of C consecutive r, and the sum (or max) of that chunk is
 * the result. Chunking spreads long reductions over threads and keeps f32 sums short; the partial
 * results, [chunks, ...kept], are reduced by a further stage.
 */
export function reduceKernel(this: KernelThis, x: number[], sx: number, sy: number, inner: number, reduced: number, chunk: number): number {
  if (this.constants.MAX === 1) {
    let best = x[this.thread.x * sx + this.thread.y * sy + this.thread.z * chunk * inner];
    for (let j = 1; j < chunk; j++) {
      if (this.thread.z * chunk + j < reduced) {
        const v = x[this.thread.x * sx + this.thread.y * sy + (this.thread.z * chunk + j) * inner];
        if (v > best || v !== v) best = v;
      }
    }
    return best;
  }
  let acc = 0;
  for (let j = 0; j < chunk; j++) {
    if (this.thread.z * chunk + j < reduced) {
      acc += x[this.thread.x * sx + this.thread.y * sy + (this.thread.z * chunk + j) * inner];
    }
  }
  return acc;
}

const CHUNK = 256;

/** One stage: [outer, reduced, inner] -> [chunks, outer, inner]. */
function stage(op: ReduceOp, x: number, outer: number, reduced: number, inner: number, out: number): Launch {
  let chunk = reduced <= 4 * CHUNK ? reduced : CHUNK;
  let chunks = Math.ceil(reduced / chunk);
  if (chunks > MAX_GRID_Z) {
    chunk = Math.ceil(reduced / MAX_GRID_Z);
    chunks = Math.ceil(reduced / chunk);
  }
  const constants = { MAX: op === 'max' ? 1 : 0 };
  const common = [int(inner), int(reduced), int(chunk)];
  if (chunks === 1 && inner === 1) {
    return { kernel: 'reduce', constants, output: [outer], args: [buf(x), int(reduced), int(0), ...common], out };
  }
  if (chunks === 1 && outer === 1) {
    return { kernel: 'reduce', constants, output: [inner], args: [buf(x), int(1), int(0), ...common], out };
  }
  const output = [inner, outer, chunks];
  checkGrid(`reduce over [${outer}, ${reduced}, ${inner}] (kept x reduced x kept)`, output, 'reshape so that fewer elements are kept on either side of the reduced axes');
  return { kernel: 'reduce', constants, output, args: [buf(x), int(1), int(reduced * inner), ...common], out };
}

/**
 * The stages that reduce x (shape inShape) over `axes` into out. Reduced axes that are adjacent
 * merge into one; each remaining group, innermost first, takes one or more stages. `temp` makes
 * a fresh buffer id for an intermediate result.
 */
export function planReduce(
  op: ReduceOp, x: number, inShape: Shape, axes: readonly number[], out: number, temp: (size: number) => number,
): Launch[] {
  const groups: { size: number; reduced: boolean }[] = [];
  inShape.forEach((size, d) => {
    if (size === 1) return;
    const reduced = axes.includes(d);
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced) last.size *= size;
    else groups.push({ size, reduced });
  });
  const outSize = groups.filter((g) => !g.reduced).reduce((a, g) => a * g.size, 1);
  const launches: Launch[] = [];
  let current = x;
  for (;;) {
    const at = groups.map((g) => g.reduced).lastIndexOf(true);
    if (at < 0) break;
    const outer = groups.slice(0, at).reduce((a, g) => a * g.size, 1);
    const inner = groups.slice(at + 1).reduce((a, g) => a * g.size, 1);
    const launch = stage(op, current, outer, groups[at]!.size, inner, -1);
    const chunks = launchSize(launch) / (outer * inner);
    const done = chunks === 1 && groups.filter((g) => g.reduced).length === 1;
    launch.out = done ? out : temp(launchSize(launch));
    launches.push(launch);
    current = launch.out;
    // the partials are [chunks, outer..., inner...]: a reduced group in front, unless it is complete
    groups.splice(at, 1);
    if (chunks > 1) groups.unshift({ size: chunks, reduced: true });
    if (done) return launches;
  }
  // nothing left to reduce (every reduced axis had size 1): a plain copy
  launches.push({ kernel: 'reduce', constants: { MAX: 0 }, output: [outSize], args: [buf(current), int(1), int(0), int(1), int(1), int(1)], out });
  return launches;
}
