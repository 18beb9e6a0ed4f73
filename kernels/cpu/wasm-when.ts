import type { TypedArray } from '../../src/backend/backend';

/** A Backend method's arguments with its buffers known to be float32 (what the wasm kernels take). */
export type Float32Args<Args extends readonly unknown[]> = {
  [K in keyof Args]: Args[K] extends TypedArray ? Float32Array
    : Args[K] extends TypedArray | null | undefined ? Float32Array | Exclude<Args[K], TypedArray>
      : Args[K];
};

/**
 * A Backend method that runs `wasm` where `applies` holds for its arguments (float32 operands,
 * large enough to pay for the hand-off to the threads, a layout the kernel takes) and the
 * reference loop otherwise.
 */
export function wasmWhen<Args extends unknown[]>(
  applies: (...args: Args) => boolean,
  wasm: (...args: Float32Args<Args>) => void,
  reference: (...args: Args) => void,
): (...args: Args) => void {
  return (...args) => (applies(...args) ? wasm(...(args as unknown as Float32Args<Args>)) : reference(...args));
}

