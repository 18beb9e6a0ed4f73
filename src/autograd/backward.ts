import { RawTensor } from '../tensor/raw';
import { formatShape, shapesEqual } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { noGrad } from './grad-mode';

/** Tensors reachable from root through the tape, each after all tensors it depends on. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const p of t.gradFn?.inputs ?? []) if (p.requiresGrad && !seen.has(p)) stack.push([p, false]);
  }
  return order;
}

/**
 * Reverse-mode accumulation from root (micrograd order: reverse topological, `+=` into each
 * input). Gradients arrive at leaves that require grad, in `.grad`, added to what is there.
 */
export function backward(root: Tensor, gradient?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error('backward: this tensor does not require grad; no input on its tape has requiresGrad set (check setRequiresGrad and noGrad).');
  }
  let seed: RawTensor;
  if (gradient) {
    if (!shapesEqual(gradient.shape, root.shape)) {
      throw new Error(`backward: gradient of shape ${formatShape(gradient.shape)} does not match the tensor's shape ${formatShape(root.shape)}.`);
    }
    seed = gradient.raw.cast(root.dtype);
  } else {
    if (root.size !== 1) {
      throw new Error(`backward: tensor of shape ${formatShape(root.shape)} is not a scalar; reduce it (e.g. .sum() or .mean()) or pass a gradient.`);
    }
    seed = root.raw.filled(root.shape, 1);
  }
  noGrad(() => {
    const grads = new Map<Tensor, RawTensor>([[root, seed]]);
    const order = topologicalOrder(root);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.gradFn) {
        t.setGrad(t.grad ? t.grad.raw.add(g) : g);
        continue;
      }
      const inputGrads = t.gradFn.backward(g);
      t.gradFn.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (!input.requiresGrad || !gi) return;
        const summed = gi.sumTo(input.shape);
        const prev = grads.get(input);
        grads.set(input, prev ? prev.add(summed) : summed);
      });
    }
  });
}
