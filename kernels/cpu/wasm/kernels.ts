import { SILU, SILU_GRAD } from './activation-module';
import { BINARY_ROWS, BINARY_SAME } from './binary-module';
import { ModuleBuilder } from './builder';
import { CONV_DIRECT_3X3_IMAGES, CONV_GRAD_WEIGHT_DIRECT_3X3_IMAGES, PAD_PLANES } from './direct-conv-module';
import { CONV_GRAD_WEIGHT_IMAGES, CONV_IMAGES, IM2COL, IM2COL_T } from './conv-module';
import { GEMM, GEMM_BATCH, PACK_A, PACK_B } from './gemm-module';
import type { EmitContext, KernelDef, ModuleFeatures, Params } from './kernel-def';
import { GROUP_NORM, GROUP_NORM_BACKWARD, GROUP_NORM_SILU_GRAD } from './norm-module';
import { ADAMW, AXPBY } from './optim-module';
import { ROW_SUMS } from './reduce-module';
import { SOFTMAX_ROWS, SOFTMAX_ROWS_BACKWARD } from './softmax-module';
import { UPSAMPLE_2X, UPSAMPLE_2X_BACKWARD } from './resample-module';
import { WINOGRAD_GRAD_WEIGHT_IMAGES } from './winograd-grad-module';
import { WINOGRAD_IMAGES, WINOGRAD_WEIGHTS } from './winograd-module';

// The wasm kernel table: every kernel of the one module the runtime instantiates. The module's
// bytes, its exports, the runtime's kernel names and the function indices that kernels call each
// other by all come from this list (a kernel's index is its position here).
//
// Adding a kernel:
//   1. in a *-module.ts file, `export const X = kernel('name', ['dst', 'src', 'begin', 'end'], emitX)`
//      with `function emitX(f: FunctionBody, p: Params<...>, ctx: EmitContext)` writing the body:
//      parameters by name (`f.get(p.src)`), other kernels by name (`ctx.call('gemm', { a: () => ... })`);
//   2. add X to KERNELS below (anywhere: indices are derived);
//   3. a driver calls `getRuntime().parallel('name', [{ dst, src, begin, end }, ...])`, one object
//      per thread, keyed by the parameter names (checked: a missing or extra name throws).
// Kernel names (KernelName) and their arguments (KernelArgs) are types derived from KERNELS:
// parallel, ctx.call and kernelEntry take them, so a misspelt kernel or parameter does not compile.

export const KERNELS = [
  GEMM, IM2COL, IM2COL_T, PACK_A, CONV_IMAGES, CONV_GRAD_WEIGHT_IMAGES, PACK_B, SILU, SILU_GRAD, WINOGRAD_IMAGES, GROUP_NORM,
  ...BINARY_SAME, ...BINARY_ROWS, GROUP_NORM_BACKWARD, WINOGRAD_GRAD_WEIGHT_IMAGES, GROUP_NORM_SILU_GRAD, ROW_SUMS, ADAMW, AXPBY, UPSAMPLE_2X, UPSAMPLE_2X_BACKWARD,
  PAD_PLANES, CONV_DIRECT_3X3_IMAGES, CONV_GRAD_WEIGHT_DIRECT_3X3_IMAGES, SOFTMAX_ROWS, SOFTMAX_ROWS_BACKWARD, WINOGRAD_WEIGHTS, GEMM_BATCH,
] as const;

type Kernel = (typeof KERNELS)[number];
export type KernelName = Kernel['name'];
/** The named arguments of kernel N: one number per parameter. */
export type KernelArgs<N extends KernelName> = Params<Extract<Kernel, { name: N }>['params'][number]>;

/** The kernels' names, in table order (= function index). */
export const KERNEL_NAMES: readonly KernelName[] = KERNELS.map((k) => k.name);

const byName = new Map<KernelName, { index: number; def: KernelDef }>(KERNELS.map((def, index) => [def.name, { index, def }]));

/**
 * The table entry of kernel `name` and its function index; throws for a name not in the table
 * (which the type admits only through a cast).
 */
export function kernelEntry(name: KernelName): { index: number; def: KernelDef } {
  const entry = byName.get(name);
  if (!entry) throw new Error(`wasm kernel '${name}' is not in the kernel table (kernels.ts).`);
  return entry;
}

/**
 * The positional argument list of a call of `def` from its named arguments; throws, naming the
 * kernel and its parameters, when a name is missing or not a parameter.
 */
export function positionalArgs<T>(def: KernelDef, args: Readonly<Record<string, T>>): T[] {
  const missing = def.params.filter((name) => !Object.hasOwn(args, name));
  const extra = Object.keys(args).filter((name) => !def.params.includes(name));
  if (missing.length || extra.length) {
    const problems = [
      ...(missing.length ? [`missing ${missing.map((n) => `'${n}'`).join(', ')}`] : []),
      ...(extra.length ? [`unknown ${extra.map((n) => `'${n}'`).join(', ')}`] : []),
    ];
    throw new Error(`wasm kernel '${def.name}': arguments ${problems.join('; ')} (its parameters: ${def.params.join(', ')}).`);
  }
  return def.params.map((name) => args[name]!);
}

/**
 * The module of every kernel in KERNELS, each exported under its name, function index = table
 * position. A kernel's emitter gets its parameters' local indices by name and calls other
 * kernels by name (EmitContext.call), so no emitter knows another's index.
 */
export function buildKernelModule(sharedMemory = true, features: ModuleFeatures = { relaxedMadd: false }): Uint8Array {
  const m = new ModuleBuilder();
  for (const def of KERNELS as readonly KernelDef[]) {
    m.function(def.name, def.params.map(() => 'i32' as const), (f) => {
      const ctx: EmitContext = {
        features,
        call(name, args) {
          const callee = kernelEntry(name);
          for (const push of positionalArgs(callee.def, args)) push();
          f.call(callee.index);
        },
      };
      def.emit(f, Object.fromEntries(def.params.map((name, i) => [name, i])), ctx);
    });
  }
  return m.encode(sharedMemory);
}
