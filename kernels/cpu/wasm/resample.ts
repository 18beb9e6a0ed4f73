import { split } from './ranges';
import { getRuntime } from './runtime';

/** Whether the wasm up-sampling applies: rows of whole f32x4 vectors. */
export const upsampleApplies = (w: number): boolean => w % 4 === 0;

/** Nearest-neighbour x2 up-sampling of [planes, h, w] (resample-module.ts), rows split across threads. */
export function upsampleNearest2xF32(x: Float32Array, out: Float32Array, planes: number, h: number, w: number): void {
  run('upsample2x', x, out, planes * h, w, planes * h * w, 4 * planes * h * w);
}

/** Its gradient: dx [planes, h, w] from dy [planes, 2h, 2w]. */
export function upsampleNearest2xBackwardF32(gy: Float32Array, gx: Float32Array, planes: number, h: number, w: number): void {
  run('upsample2xBackward', gy, gx, planes * h, w, 4 * planes * h * w, planes * h * w);
}

function run(name: 'upsample2x' | 'upsample2xBackward', x: Float32Array, out: Float32Array, rows: number, w: number, inSize: number, outSize: number): void {
  if (!upsampleApplies(w)) throw new Error(`${name}: needs rows of a multiple of 4 values, got ${w}.`);
  const rt = getRuntime();
  rt.frame((f) => {
    const xAt = f.input(x, 0, inSize), outAt = f.output(out, 0, outSize);
    rt.parallel(name, split(rows, rt.threads).map(([row0, row1]) => ({ x: xAt * 4, out: outAt * 4, w, row0, row1 })));
  });
}
