import type { DType } from '../backend/backend';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/**
 * A layer or model: named parameters and named submodules, in registration order, so that
 * state-dict names are PyTorch's dotted paths (`down.1.2.weight`).
 */
export abstract class Module {
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  training = true;

  protected addParameter(name: string, value: Tensor): Tensor {
    this.params.set(name, value.setRequiresGrad(true));
    return value;
  }

  protected addModule<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, p] of this.params) out.push([prefix + name, p]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Name -> tensor, PyTorch's state_dict layout. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /** Copies values by name; every parameter must be present with its shape, and nothing else. */
  loadStateDict(dict: Record<string, Tensor>): void {
    const own = new Map(this.namedParameters());
    const missing = [...own.keys()].filter((k) => !(k in dict));
    const unexpected = Object.keys(dict).filter((k) => !own.has(k));
    if (missing.length || unexpected.length) {
      throw new Error(
        `loadStateDict: names do not match this ${this.constructor.name}` +
          (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5} more)` : ''}` : '') +
          (unexpected.length ? `; unexpected: ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5} more)` : ''}` : '') +
          '. Was the checkpoint saved from a model of another kind or width?',
      );
    }
    for (const [name, p] of own) {
      const v = dict[name]!;
      if (v.shape.length !== p.shape.length || v.shape.some((s, i) => s !== p.shape[i])) {
        throw new Error(`loadStateDict: '${name}' has shape ${formatShape(v.shape)} in the checkpoint but ${formatShape(p.shape)} in the model.`);
      }
      p.assign(v.raw.cast(p.dtype));
    }
  }

  /** Converts every parameter to `dtype` (float64 for gradient checks). */
  to(dtype: DType): this {
    for (const p of this.parameters()) p.castInPlace(dtype);
    return this;
  }

  train(flag = true): this {
    this.training = flag;
    for (const child of this.children.values()) child.train(flag);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }
}
