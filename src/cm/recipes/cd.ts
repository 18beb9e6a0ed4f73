// Consistency distillation (Song et al. 2023) from an EDM teacher file; the student starts from the
// teacher's weights, as the official code does, or from an init file's (a student to go on with new
// settings, such as a decaying rate).
import { cdStep, type Distance } from '../distill';
import type { Denoiser } from '../edm';
import { CLASS_GUIDANCE_NEEDS_GUIDE, checkGuidance } from '../guidance';
import { teacherDenoiser } from '../guided-teacher';
import { teacherFrom } from '../load';
import type { Network } from '../network';
import { withLabels } from '../parametrization';
import { consistencyOf, consistencyOutputs } from './consistency';
import type { RecipeState, TrainingRecipe } from './recipe';

export interface CdSettings {
  /** The teacher's weights (an `edm` run's exported EMA file). */
  teacher?: string;
  /** N, the levels of the Karras grid (official: 18 for CIFAR-10, 40 for ImageNet-64). */
  intervals?: number;
  /** The target network's fixed EMA rate mu (default 0.95; official: 0 for CIFAR-10, 0.95 for ImageNet-64). */
  targetEma?: number;
  /** The distance d (default pseudo-huber). */
  distance?: Distance;
  /** A class-conditional teacher's classifier-free guidance weight w (guidance.ts); absent: its conditional denoiser. With guideWith: the autoguidance weight. */
  guidance?: number;
  /** Autoguidance (guidance.ts): a weaker EDM teacher of the same kind that guides the teacher with weight `guidance`. */
  guideWith?: string;
  /** With guideWith and a class-conditional teacher: the classifier-free direction's weight added to the autoguided teacher (guidance.ts). */
  classGuidance?: number;
}

/** Distillation's settings when not given: N = 18 (CIFAR-10's), mu = 0.95 (ImageNet-64's), pseudo-Huber. */
export const CD_DEFAULTS = { intervals: 18, targetEma: 0.95, distance: 'pseudo-huber' } as const satisfies CdSettings;

const DISTANCES: readonly Distance[] = ['l2', 'l1', 'pseudo-huber'];

interface CdState extends RecipeState {
  readonly teacher: Denoiser;
  readonly target: Network;
}

export const cd: TrainingRecipe<CdSettings, CdState> = {
  name: 'cd',
  summary: "consistency distillation: one Heun step of an EDM teacher's ODE gives each target point",
  ...consistencyOutputs('official'),
  // lr 6e-4 with mu 0 diverged here within 300 steps (lr 1e-4 with mu 0: after 1,000). 1800 steps with the 0.999 EMA:
  // the MNIST quick start, under 15 minutes on two cores, readable digits from the committed teacher (README)
  defaults: { steps: 1800, lr: 1e-4, lrDecay: 'none', emaRate: 0.999, ...CD_DEFAULTS },
  checkRun: (c, refuse) => {
    if (!c.teacher) refuse('teacher', 'teacher: recipe cd needs a teacher file (train one with recipe edm).');
    if (c.intervals !== undefined && !(Number.isInteger(c.intervals) && c.intervals >= 2)) refuse('intervals', `intervals must be an integer >= 2, got ${c.intervals}.`);
    if (c.targetEma !== undefined && !(c.targetEma >= 0 && c.targetEma < 1)) refuse('targetEma', `targetEma must be in [0, 1), got ${c.targetEma}.`);
    if (c.distance !== undefined && !DISTANCES.includes(c.distance)) refuse('distance', `distance must be l2, l1 or pseudo-huber, got '${c.distance}'.`);
    if (c.guideWith !== undefined && c.guidance === undefined) refuse('guideWith', 'guideWith guides the teacher with a weight: give guidance w too (--guidance W, 1-3 typical).');
    if (c.classGuidance !== undefined) {
      if (c.guideWith === undefined) refuse('classGuidance', CLASS_GUIDANCE_NEEDS_GUIDE);
      if (!c.classConditional) refuse('classGuidance', 'classGuidance distills a class-conditional teacher into a class-conditional student: add classConditional (--class-conditional).');
      checkGuidance(c.classGuidance, 'classGuidance');
    }
    if (c.guidance !== undefined) {
      if (!c.classConditional && c.guideWith === undefined) refuse('guidance', 'guidance distills a class-conditional teacher into a class-conditional student: add classConditional (--class-conditional), or give a weaker teacher to guide with (guideWith, --guide-with: autoguidance).');
      checkGuidance(c.guidance);
    }
  },
  command: 'distill',
  flags: {
    teacher: { setting: 'teacher', kind: 'file', required: 'an EDM teacher: train one with the teacher command', help: 'the EDM teacher; the student starts from its weights' },
    intervals: { setting: 'intervals', kind: 'int', help: "N, the Karras grid's levels (official: 18 CIFAR-10, 40 ImageNet) [18]" },
    'target-ema': { setting: 'targetEma', kind: 'number', help: "the target network's fixed EMA rate mu (official: 0 / 0.95) [0.95]" },
    distance: { setting: 'distance', kind: DISTANCES, help: 'l2, l1 or pseudo-huber [pseudo-huber]' },
    guidance: { setting: 'guidance', kind: 'number', help: "a class-conditional teacher's classifier-free guidance weight w: the student learns D_uncond + (1 + w)(D_cond - D_uncond); with --guide-with, the autoguidance weight [none]" },
    'guide-with': { setting: 'guideWith', kind: 'file', help: 'autoguidance: a weaker EDM teacher of the same kind; the student learns D_weak + (1 + w)(D - D_weak), w from --guidance [none]' },
    'class-guidance': { setting: 'classGuidance', kind: 'number', help: 'with --guide-with and a class-conditional teacher: adds G (D_cond - D_uncond) to the autoguided teacher [none]' },
  },
  progress: 'N',
  start: (run) => {
    const path = run.config.teacher!;
    const teacher = teacherFrom(path, run.readWeights(path));
    run.checkSameNetwork(path, 'teacher', teacher.spec, teacher.classNames);
    const { guidance, guideWith, classGuidance } = run.config;
    return { teacher: teacherDenoiser(teacher, path, { guidance, guideWith, classGuidance }, (file) => run.readWeights(file)), target: run.newNetwork(), startWeights: teacher.model };
  },
  step: (run, state, x, labels) => {
    const { intervals = CD_DEFAULTS.intervals, targetEma = CD_DEFAULTS.targetEma, distance = CD_DEFAULTS.distance } = run.config;
    return cdStep({
      teacher: withLabels(state.teacher, labels), student: withLabels(consistencyOf(run, run.model, 'official'), labels),
      target: withLabels(consistencyOf(run, state.target, 'official'), labels), generator: run.generator,
      intervals, distance, model: run.model, targetModel: state.target, optimizer: run.optimizer, mu: targetEma,
    }, x);
  },
  metadata: (c) => ({
    teacher: c.teacher!, intervals: String(c.intervals ?? CD_DEFAULTS.intervals), distance: c.distance ?? CD_DEFAULTS.distance,
    ...(c.guidance !== undefined && { guidance: String(c.guidance) }), ...(c.guideWith !== undefined && { guide_with: c.guideWith }),
    ...(c.classGuidance !== undefined && { class_guidance: String(c.classGuidance) }),
  }),
};
