import type { FunctionBody } from './builder';
import type { KernelArgs, KernelName } from './kernels';

// What one entry of the wasm kernel table (kernels.ts) is, and `kernel()` to write one. A leaf
// module at run time: the *-module.ts files define their entries with it, kernels.ts collects
// them. Its one import of kernels.ts is type-only (erased: no runtime cycle), for the kernel names
// and parameters that EmitContext.call takes, derived from the table so they cannot drift.

/** The most parameters a kernel may have: what a worker's control block in runtime.ts holds. */
export const MAX_KERNEL_PARAMS = 56;

/** A kernel's parameters by name: the local index of each (parameters are locals 0, 1, ...). */
export type Params<P extends string> = Readonly<Record<P, number>>;

/** Optional instructions the module may use (detected by the runtime). */
export interface ModuleFeatures {
  /** f32x4.relaxed_madd (relaxed SIMD): the GEMM's multiply-adds fused where the hardware has FMA. */
  relaxedMadd: boolean;
}

/** What an emitter gets besides its body and parameters. */
export interface EmitContext {
  readonly features: ModuleFeatures;
  /**
   * Emits a call of the table's kernel `name`. `args` has one entry per parameter of that kernel,
   * each a function that leaves the argument's value on the stack; they run in the callee's
   * parameter order. Both are typed from the table (a misspelt kernel or parameter does not
   * compile), and checked again at module build (throws for an unknown kernel or a missing or
   * extra name).
   */
  call<N extends KernelName>(name: N, args: Readonly<Record<keyof KernelArgs<N>, () => void>>): void;
}

/** One kernel: its exported name, its parameters in order (all i32 today), its emitter. */
export interface KernelDef<N extends string = string, P extends string = string> {
  readonly name: N;
  readonly params: readonly P[];
  /** Writes the body into `f`; `p` names the parameters' locals. */
  emit(f: FunctionBody, p: Params<P>, ctx: EmitContext): void;
}

/** A table entry; the parameter names are kept as literal types, so drivers' arguments are typed. */
export function kernel<const N extends string, const P extends string>(
  name: N,
  params: readonly P[],
  emit: (f: FunctionBody, p: Params<P>, ctx: EmitContext) => void,
): KernelDef<N, P> {
  if (params.length > MAX_KERNEL_PARAMS) throw new Error(`wasm kernel '${name}' has ${params.length} parameters; at most ${MAX_KERNEL_PARAMS} fit a worker's control block (kernel-def.ts).`);
  return { name, params, emit };
}
