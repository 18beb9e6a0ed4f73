// Models from files on disk (Node); load.ts builds them from a file's tensors.
import { loadSafetensors, readSafetensorsMetadata } from '../io/safetensors-file';
import { isDenoiserParametrization } from './parametrization';
import { consistencyModelFrom, type LoadedConsistencyModel, type LoadedTeacher, teacherFrom } from './load';

/** A consistency model from a .safetensors file: a training checkpoint's EMA weights or an export (see consistencyModelFrom). */
export const loadConsistencyModel = (path: string): LoadedConsistencyModel => consistencyModelFrom(path, loadSafetensors(path));

/** An EDM teacher from a .safetensors file (see teacherFrom). */
export const loadTeacher = (path: string): LoadedTeacher => teacherFrom(path, loadSafetensors(path));

/** Whether a safetensors file holds an EDM teacher rather than a consistency model. */
export const isTeacherFile = (path: string): boolean => isDenoiserParametrization(readSafetensorsMetadata(path).parametrization);
