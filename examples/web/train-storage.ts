// The training worker's files in the browser's Origin Private File System: the run's checkpoint
// (and a folder run's images), written whole through createWritable, which the browser commits
// only on close(), so a reload or crash mid-write leaves the previous file as it was.

// The parts of the OPFS API used here (the engine is type-checked without the DOM library).
interface WritableFile {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
interface FileHandle {
  getFile(): Promise<{ arrayBuffer(): Promise<ArrayBuffer> }>;
  createWritable(): Promise<WritableFile>;
}
interface DirectoryHandle {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileHandle>;
  removeEntry(name: string): Promise<void>;
}

export interface RunStorage {
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** The file's bytes, or null when there is none. */
  read(name: string): Promise<Uint8Array | null>;
  remove(name: string): Promise<void>;
}

const FOLDER = 'onestep-training';

/** The storage of this origin, or why there is none (the message the page shows). */
export async function openRunStorage(): Promise<RunStorage | string> {
  const storage = (globalThis as unknown as { navigator?: { storage?: { getDirectory?(): Promise<DirectoryHandle & { getDirectoryHandle(n: string, o: { create: boolean }): Promise<DirectoryHandle> }> } } }).navigator?.storage;
  if (!storage?.getDirectory) return 'this browser offers no Origin Private File System (navigator.storage.getDirectory)';
  let dir: DirectoryHandle;
  try {
    dir = await (await storage.getDirectory()).getDirectoryHandle(FOLDER, { create: true });
  } catch (e) {
    return `the browser refused its storage (${(e as Error).message})`;
  }
  return {
    async write(name, bytes) {
      const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
      try {
        await writable.write(bytes);
        await writable.close();
      } catch (e) {
        await writable.abort().catch(() => undefined);
        throw e;
      }
    },
    async read(name) {
      try {
        const handle = await dir.getFileHandle(name);
        return new Uint8Array(await (await handle.getFile()).arrayBuffer());
      } catch (e) {
        if ((e as Error).name === 'NotFoundError') return null;
        throw e;
      }
    },
    async remove(name) {
      await dir.removeEntry(name).catch((e: Error) => {
        if (e.name !== 'NotFoundError') throw e;
      });
    },
  };
}
