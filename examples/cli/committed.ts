// The models committed under examples/checkpoints: what the MNIST example's commands use when no file is given.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const committed = (name: string) => fileURLToPath(new URL(`../checkpoints/${name}`, import.meta.url));

export const COMMITTED = {
  /** The one-step model: sample, edit and eval without --ckpt. */
  model: committed('mnist-simpleunet-d32.safetensors'),
  /** The class-conditional one-step model (distilled with guidance): sample and edit with --class, eval --class-conditional. */
  modelConditional: committed('mnist-simpleunet-d32-cond.safetensors'),
  /** The EDM teacher that distill distils without --teacher (on MNIST). */
  teacher: committed('mnist-edm-d32.safetensors'),
  /** The class-conditional teacher: distill --class-conditional without --teacher. */
  teacherConditional: committed('mnist-edm-d32-cond.safetensors'),
  /** The classifier eval measures with. */
  classifier: committed('mnist-classifier.safetensors'),
};

/** `path` when the example uses committed files and it exists; else undefined (the command then asks for the flag). */
export const ifCommitted = (use: boolean, path: string): string | undefined => (use && existsSync(path) ? path : undefined);
