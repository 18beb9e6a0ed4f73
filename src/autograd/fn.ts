import type { RawTensor } from '../tensor/raw';
import type { GradNode, Tensor } from '../tensor/tensor';
import { isGradEnabled } from './grad-mode';

/**
 * One differentiable op, tinygrad style: forward and backward compute on RawTensors (backend
 * buffers). backward returns one gradient per input, in the shape of the op's output where the op
 * broadcasts; the engine (backward.ts) sums them back to each input's shape.
 */
export abstract class Fn implements GradNode {
  inputs: readonly Tensor[] = [];
  /** needsInputGrad[i]: whether input i needs a gradient; backward may skip the others. */
  needsInputGrad: boolean[] = [];

  get name(): string {
    return this.constructor.name;
  }

  abstract forward(...inputs: RawTensor[]): RawTensor;
  abstract backward(grad: RawTensor): (RawTensor | null)[];
}

/** Runs fn's forward on the inputs' buffers and records it on the tape when a gradient is needed. */
export function apply(fn: Fn, ...inputs: Tensor[]): Tensor {
  fn.needsInputGrad = inputs.map((t) => t.requiresGrad);
  const track = isGradEnabled() && fn.needsInputGrad.some(Boolean);
  const out = fn.forward(...inputs.map((t) => t.raw));
  // The result is made by an input (Tensor.wrap): the ops layer imports Tensor only as a type.
  if (!track) return inputs[0]!.wrap(out, false, null);
  fn.inputs = inputs;
  return inputs[0]!.wrap(out, true, fn);
}
