import { backward } from '../autograd/backward';
import { noGrad } from '../autograd/grad-mode';
import type { RawTensor } from '../tensor/raw';
import { release, tidy } from '../tensor/scope';
import type { Tensor } from '../tensor/tensor';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clip gradients to this global L2 norm before the update (torch.nn.utils.clip_grad_norm_). */
  maxGradNorm?: number;
  /** Raise the learning rate linearly from lr/warmupSteps to lr over the first warmupSteps steps. */
  warmupSteps?: number;
}

/**
 * AdamW with PyTorch's semantics (torch.optim.AdamW): p <- p (1 - lr wd), then
 * p <- p - lr m_hat / (sqrt(v_hat) + eps) with bias-corrected first and second moments; one fused
 * backend kernel (Backend.adamw) per parameter.
 */
export class AdamW {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly warmupSteps: number;
  step_ = 0;
  /** The global gradient norm seen by the last step (before clipping); NaN when clipping is off. */
  lastGradNorm = NaN;
  private readonly m = new Map<Tensor, RawTensor>();
  private readonly v = new Map<Tensor, RawTensor>();

  constructor(readonly params: readonly Tensor[], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
    this.maxGradNorm = opts.maxGradNorm ?? Infinity;
    this.warmupSteps = opts.warmupSteps ?? 0;
    if (!(this.lr >= 0)) throw new Error(`AdamW: learning rate must be >= 0, got ${this.lr}.`);
    if (!(this.maxGradNorm > 0)) throw new Error(`AdamW: maxGradNorm must be positive, got ${this.maxGradNorm}.`);
    if (!(this.warmupSteps >= 0)) throw new Error(`AdamW: warmupSteps must be >= 0, got ${this.warmupSteps}.`);
  }

  /** The learning rate the next step uses (after warm-up). */
  currentLr(): number {
    const next = this.step_ + 1;
    return this.warmupSteps > 0 && next < this.warmupSteps ? (this.lr * next) / this.warmupSteps : this.lr;
  }

  step(): void {
    const lr = this.currentLr();
    this.step_++;
    const [b1, b2] = this.betas;
    const c1 = 1 - b1 ** this.step_, c2 = 1 - b2 ** this.step_;
    // The norm is read back (one read): only pay for that when clipping is on.
    let clip = 1;
    if (Number.isFinite(this.maxGradNorm)) {
      const norm2 = tidy(() => {
        let total: RawTensor | null = null;
        for (const p of this.params) {
          if (!p.grad) continue;
          const squares = p.grad.raw.unary('square').reduce('sum', p.grad.shape.map((_, d) => d)).reshape([]);
          total = total ? total.add(squares) : squares;
        }
        return total ? total.read()[0]! : 0;
      });
      this.lastGradNorm = Math.sqrt(norm2);
      if (this.lastGradNorm > this.maxGradNorm) clip = this.maxGradNorm / (this.lastGradNorm + 1e-6);
    }
    noGrad(() => {
      for (const p of this.params) {
        if (!p.grad) continue;
        const g = p.grad.raw;
        const [p1, m1, v1] = p.raw.adamw(g, this.m.get(p) ?? g.filled(g.shape, 0), this.v.get(p) ?? g.filled(g.shape, 0), {
          lr, beta1: b1, beta2: b2, eps: this.eps, weightDecay: this.weightDecay, gradScale: clip, biasCorrection1: c1, biasCorrection2: c2,
        });
        this.remember(this.m, p, m1);
        this.remember(this.v, p, v1);
        p.assign(p1);
      }
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** One step down a scalar loss: zero the gradients, backward, step; returns the loss value. */
  minimize(loss: Tensor): number {
    this.zeroGrad();
    backward(loss);
    this.step();
    return loss.item();
  }

  private remember(moments: Map<Tensor, RawTensor>, p: Tensor, value: RawTensor): void {
    const old = moments.get(p);
    if (old?.buffer === value.buffer) return;
    if (old) release(old.backend, old.buffer);
    moments.set(p, value.owned());
  }

  /** The moment estimates of each parameter (by index), for checkpoints; absent before its first step. */
  moments(): { m: (RawTensor | undefined)[]; v: (RawTensor | undefined)[] } {
    return { m: this.params.map((p) => this.m.get(p)), v: this.params.map((p) => this.v.get(p)) };
  }

  /** Restores moments saved by moments() and the step count, to resume a run exactly. */
  restore(step: number, m: (RawTensor | undefined)[], v: (RawTensor | undefined)[]): void {
    this.step_ = step;
    this.params.forEach((p, i) => {
      if (m[i]) this.remember(this.m, p, m[i]!);
      if (v[i]) this.remember(this.v, p, v[i]!);
    });
  }
}
