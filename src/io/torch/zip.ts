// The zip archive torch.save writes (torch >= 1.6): every entry stored, not compressed, its data
// aligned to 64 bytes. Read from the central directory by hand rather than through a zip library:
// the libraries at hand (fflate and the like) copy every entry out, and an fp16 checkpoint is
// hundreds of megabytes whose storages we want as views of the file's own bytes. Only what torch
// writes is read; a deflated entry (an archive re-zipped by another tool), encryption and Zip64
// (archives over 4 GiB) are refused with a FormatError that says so.
import type { Fail } from './errors';
import { quoted } from './errors';

export interface ZipEntry {
  name: string;
  /** The entry's bytes: a view of the archive's bytes, never a copy. */
  data: Uint8Array;
  /** The CRC-32 the central directory records for it. */
  crc32: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const END_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const STORED = 0;
const DEFLATED = 8;
const ENCRYPTED_FLAG = 1;
/** What a 16- or 32-bit field holds when the real value is in a Zip64 record. */
const ZIP64_MARK_16 = 0xffff;
const ZIP64_MARK_32 = 0xffffffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `bytes` start like a zip archive (a local file header, or the end record of an empty one). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** The entries of a zip archive of stored entries, by name, in central-directory order. */
export function readZipEntries(bytes: Uint8Array, fail: Fail): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEndRecord(view, fail);
  const disk = view.getUint16(end + 4, true);
  const centralDisk = view.getUint16(end + 6, true);
  const count = view.getUint16(end + 10, true);
  const centralSize = view.getUint32(end + 12, true);
  const centralStart = view.getUint32(end + 16, true);
  if (count === ZIP64_MARK_16 || centralSize === ZIP64_MARK_32 || centralStart === ZIP64_MARK_32) {
    fail('it is a Zip64 archive (over 4 GiB or 65535 entries), which onestep does not read yet; save the state dict in parts, or convert it to safetensors in Python');
  }
  if (disk !== 0 || centralDisk !== 0) fail('it is a zip archive split over several disks; join the parts into one file');
  if (centralStart + centralSize > end) {
    fail(`its zip central directory (bytes ${centralStart} to ${centralStart + centralSize}) runs past its end record at byte ${end} (file truncated or corrupt?); re-save or re-download it`);
  }
  const entries = new Map<string, ZipEntry>();
  let pos = centralStart;
  for (let i = 0; i < count; i++) {
    if (pos + CENTRAL_SIZE > centralStart + centralSize || view.getUint32(pos, true) !== CENTRAL_FILE_HEADER) {
      fail(`its zip central directory is corrupt at entry ${i + 1} of ${count}; re-save or re-download it`);
    }
    const nameLength = view.getUint16(pos + 28, true);
    const next = pos + CENTRAL_SIZE + nameLength + view.getUint16(pos + 30, true) + view.getUint16(pos + 32, true);
    if (next > centralStart + centralSize) fail(`its zip central directory ends inside entry ${i + 1} of ${count}; re-save or re-download it`);
    const name = entryName(bytes.subarray(pos + CENTRAL_SIZE, pos + CENTRAL_SIZE + nameLength), fail);
    const entry = readEntry(view, bytes, pos, name, centralStart, fail);
    if (entries.has(name)) fail(`its zip archive holds two entries named ${quoted(name)}; re-save it with torch.save`);
    entries.set(name, entry);
    pos = next;
  }
  return entries;
}

function findEndRecord(view: DataView, fail: Fail): number {
  const last = view.byteLength - END_SIZE;
  for (let pos = last; pos >= 0 && pos >= last - MAX_COMMENT; pos--) {
    if (view.getUint32(pos, true) === END_OF_CENTRAL_DIRECTORY && pos + END_SIZE + view.getUint16(pos + 20, true) <= view.byteLength) return pos;
  }
  return fail('it starts like a zip archive but has no end-of-central-directory record (file truncated?); re-save or re-download it');
}

function entryName(raw: Uint8Array, fail: Fail): string {
  try {
    return utf8.decode(raw);
  } catch {
    return fail('a name in its zip central directory is not valid UTF-8 (file corrupt?); re-save or re-download it');
  }
}

function readEntry(view: DataView, bytes: Uint8Array, central: number, name: string, dataEnd: number, fail: Fail): ZipEntry {
  const flags = view.getUint16(central + 8, true);
  const method = view.getUint16(central + 10, true);
  const crc32 = view.getUint32(central + 16, true);
  const compressedSize = view.getUint32(central + 20, true);
  const size = view.getUint32(central + 24, true);
  const local = view.getUint32(central + 42, true);
  if (flags & ENCRYPTED_FLAG) fail(`its zip entry ${quoted(name)} is encrypted; save it again without encryption`);
  if (size === ZIP64_MARK_32 || compressedSize === ZIP64_MARK_32 || local === ZIP64_MARK_32) {
    fail(`its zip entry ${quoted(name)} is in Zip64 form (over 4 GiB), which onestep does not read yet; save the state dict in parts, or convert it to safetensors in Python`);
  }
  if (method === DEFLATED) {
    fail(`its zip entry ${quoted(name)} is compressed (deflate), but torch.save stores entries uncompressed and onestep reads only those: the archive was re-zipped by another tool; load and save it again with torch.save, or re-zip it without compression (zip -0)`);
  }
  if (method !== STORED) fail(`its zip entry ${quoted(name)} uses compression method ${method}; onestep reads only stored (uncompressed) entries, as torch.save writes them: save it again with torch.save`);
  if (compressedSize !== size) fail(`its stored zip entry ${quoted(name)} records ${compressedSize} bytes stored for ${size} bytes of data (file corrupt?); re-save or re-download it`);
  if (local + LOCAL_SIZE > dataEnd || view.getUint32(local, true) !== LOCAL_FILE_HEADER) {
    fail(`the local header of its zip entry ${quoted(name)} is missing at byte ${local} (file truncated or corrupt?); re-save or re-download it`);
  }
  // the local header's name and extra field (torch's alignment padding) can differ from the central one's
  const start = local + LOCAL_SIZE + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  if (start + size > dataEnd) {
    fail(`its zip entry ${quoted(name)} claims bytes ${start} to ${start + size}, past the start of the central directory at ${dataEnd} (file truncated or corrupt?); re-save or re-download it`);
  }
  return { name, data: bytes.subarray(start, start + size), crc32 };
}
