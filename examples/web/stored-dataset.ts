import { data, decodeSafetensors, encodeSafetensors, FormatError } from '../../src/web';

// A folder run's images kept in the browser's storage (a resume after a reload needs them): the
// dataset as the bytes of a .safetensors file, and its fingerprint (image count and a hash of the
// pixels), which the stored run records so a resume cannot go on with other images.

/** A dataset's fingerprint: its image count and an FNV-1a hash of its pixels' bytes. */
export function datasetFingerprint(ds: data.ImageDataset): string {
  const bytes = new Uint8Array(ds.images.buffer, ds.images.byteOffset, ds.images.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  if (ds.labels) for (let i = 0; i < ds.labels.length; i++) h = Math.imul(h ^ ds.labels[i]!, 0x01000193);
  return `${ds.count} images, ${(h >>> 0).toString(16).padStart(8, '0')}`;
}

/** A dataset as the bytes of a .safetensors file (its fingerprint in the metadata). */
export function datasetBytes(ds: data.ImageDataset): Uint8Array {
  return encodeSafetensors(
    { images: { dtype: 'F32', shape: [ds.count, ds.channels, ds.height, ds.width], data: ds.images }, ...(ds.labels ? { labels: { dtype: 'F32', shape: [ds.count], data: Float32Array.from(ds.labels) } } : {}) },
    { name: ds.name, fingerprint: datasetFingerprint(ds), ...(ds.classNames ? { class_names: JSON.stringify(ds.classNames) } : {}) },
  );
}

/** The dataset datasetBytes wrote; a file that does not fit is a FormatError naming `source` and the fix. */
export function datasetFromBytes(bytes: Uint8Array, source: string): data.ImageDataset {
  const damaged = (what: string) => new FormatError(source, `${source}: ${what}; the stored images are damaged: choose the folder again and start a new run (or upload the run's checkpoint with the folder chosen).`);
  const file = decodeSafetensors(bytes, source);
  const images = file.tensors.get('images'), labels = file.tensors.get('labels');
  if (!images || images.shape.length !== 4) throw damaged('it holds no images tensor [count, channels, height, width]');
  const [count, channels, height, width] = images.shape as [number, number, number, number];
  if (labels && (labels.shape.length !== 1 || labels.shape[0] !== count)) throw damaged(`its labels tensor has shape [${labels.shape.join(', ')}] for ${count} images`);
  let classNames: string[] | undefined;
  if (file.metadata.class_names !== undefined) {
    try {
      classNames = JSON.parse(file.metadata.class_names) as string[];
    } catch {
      throw damaged(`its metadata class_names is not JSON (${file.metadata.class_names.slice(0, 40)})`);
    }
    if (!Array.isArray(classNames) || !classNames.every((c) => typeof c === 'string')) throw damaged('its metadata class_names is not a list of names');
    if (!labels) throw damaged('it names classes but holds no labels tensor');
  }
  const ds: data.ImageDataset = {
    name: file.metadata.name ?? 'folder', images: Float32Array.from(images.data), labels: labels ? Uint8Array.from(labels.data) : null, count, channels, height, width,
    ...(classNames ? { classNames } : {}),
  };
  if (classNames && ds.labels!.some((l) => l >= classNames.length)) throw damaged(`a label is not below its ${classNames.length} classes`);
  if (file.metadata.fingerprint !== undefined && file.metadata.fingerprint !== datasetFingerprint(ds)) throw damaged(`its images do not match the fingerprint written with them (${file.metadata.fingerprint})`);
  return ds;
}
