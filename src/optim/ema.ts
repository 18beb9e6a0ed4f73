import type { Tensor } from '../tensor/tensor';

/** ema <- mu ema + (1 - mu) p, parameter by parameter (both lists in the same order), one fused pass each. */
export function emaUpdate(ema: readonly Tensor[], params: readonly Tensor[], mu: number): void {
  if (ema.length !== params.length) throw new Error(`emaUpdate: ${ema.length} EMA tensors for ${params.length} parameters.`);
  ema.forEach((e, i) => {
    const p = params[i]!;
    e.assign(e.raw.axpby(mu, p.raw, 1 - mu));
  });
}
