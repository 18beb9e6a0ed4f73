// Messages between the demo page (demo.ts) and its engine worker (demo-engine.ts).

export type EditKind = 'inpaint' | 'denoise' | 'superres';

export type EngineRequest =
  | { t: 'start'; backend: 'cpu' | 'webgpu'; threads?: number; model: string }
  /** Replaces the model by a .safetensors file's bytes (a file the person chose or dropped on the page). */
  | { t: 'load'; bytes: ArrayBuffer; name: string }
  | { t: 'sample'; id: number; count: number; seed: number; label?: number }
  /** image: C x H x W in [-1, 1]; known: H x W, 1 where the user drew or erased, 0 where the model fills in. */
  | { t: 'edit'; id: number; kind: EditKind; image: Float32Array; known: Float32Array; seed: number; label?: number; noise: number }
  | { t: 'interpolate'; id: number; seeds: [number, number]; alphas: number[]; label?: number };

export interface Grid {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export type EngineReply =
  | {
      t: 'started'; backend: string; adapter: string | null; threads: number; isolated: boolean;
      shape: [number, number, number]; classNames: string[] | null; msLoad: number;
      /** The model's file name; whether it samples without a class (an official class-conditional file does not). */
      model: string; unconditional: boolean;
    }
  /** images: count x C x H x W in [-1, 1]; ms: the engine's time for the request, in the worker. */
  | { t: 'result'; id: number; images: Float32Array; count: number; grid: Grid; ms: number }
  | { t: 'error'; id: number | null; message: string };
