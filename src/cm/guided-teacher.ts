// A teacher's denoiser as sampled or distilled: plain, with classifier-free guidance (the "no label"
// row of a class-conditional teacher), autoguided by a weaker teacher file, or both (guidance.ts).
import { ConfigError, FormatError } from '../errors';
import type { Denoiser } from './edm';
import { autoAndClassGuidedDenoiser, autoguidedDenoiser, CLASS_GUIDANCE_NEEDS_GUIDE, guidedDenoiser } from './guidance';
import { teacherFrom, type LoadedTeacher, type WeightsFile } from './load';
import { isDenoiserParametrization } from './parametrization';

/** How a teacher is guided (guidance.ts). */
export interface TeacherGuidance {
  /** Classifier-free guidance weight w of a class-conditional teacher; with guideWith: the autoguidance weight. */
  guidance?: number;
  /** Autoguidance: a weaker EDM teacher file of the same kind. */
  guideWith?: string;
  /** With guideWith and a class-conditional teacher: the weight of the classifier-free direction added to the autoguided denoiser. */
  classGuidance?: number;
}

/** The denoiser of `teacher` (read from `path`) guided as `how` says; `readWeights` reads the guideWith file. */
export function teacherDenoiser(teacher: LoadedTeacher, path: string, how: TeacherGuidance, readWeights: (path: string) => WeightsFile): Denoiser {
  const { guidance, guideWith, classGuidance } = how;
  if (classGuidance !== undefined) {
    if (guideWith === undefined) throw new ConfigError('classGuidance', CLASS_GUIDANCE_NEEDS_GUIDE);
    if (!teacher.spec.numClasses) throw new ConfigError('classGuidance', `classGuidance needs a class-conditional teacher; ${path} is not one (autoguide it with guidance alone).`);
  }
  if (guideWith !== undefined) {
    if (guidance === undefined) throw new ConfigError('guideWith', `guideWith ${guideWith} guides the teacher with a weight: give guidance w too (--guidance W, 1-3 typical).`);
    if (guideWith === path) {
      throw new ConfigError('guideWith', `guideWith ${path} is the teacher itself, and a teacher guided by itself is the unguided teacher: guide with a weaker teacher (a shorter run, or a longer EMA of the same run).`);
    }
    const weak = guidingTeacher(teacher, path, guideWith, readWeights(guideWith)).denoiser;
    if (classGuidance !== undefined) return autoAndClassGuidedDenoiser(teacher.denoiser, weak, guidance, classGuidance);
    return autoguidedDenoiser(teacher.denoiser, weak, guidance);
  }
  if (guidance === undefined) return teacher.denoiser;
  if (!teacher.spec.numClasses) {
    throw new ConfigError('guidance', `guidance needs a class-conditional teacher; ${path} is not one (sample it without guidance, or autoguide it with a weaker teacher: guideWith, --guide-with FILE).`);
  }
  return guidedDenoiser(teacher.denoiser, guidance);
}

/** The guide's teacher, refused unless it is an EDM teacher of the teacher's kind: the same images and classes. */
function guidingTeacher(teacher: LoadedTeacher, path: string, guidePath: string, file: WeightsFile): LoadedTeacher {
  if (!isDenoiserParametrization(file.metadata.parametrization)) {
    throw new FormatError(guidePath, `the guiding model ${guidePath} is not an EDM teacher file: guide with a weaker teacher (a shorter run, or a longer EMA of the same run).`);
  }
  const weak = teacherFrom(guidePath, file);
  const kind = (t: LoadedTeacher) => `${t.shape.join('x')} images${t.spec.numClasses ? ` of the classes ${t.classNames!.join(', ')}` : ', unconditional'}`;
  if (kind(weak) !== kind(teacher)) {
    throw new FormatError(guidePath, `the guiding teacher ${guidePath} makes ${kind(weak)}; the teacher ${path} makes ${kind(teacher)}: guide with a weaker teacher of the same kind (the same data and classes).`);
  }
  return weak;
}
