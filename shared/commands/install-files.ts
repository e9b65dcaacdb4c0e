/**
 * The file operations of `cni-ts install`: telling our executables from anyone else's, comparing
 * contents, and replacing a name atomically and durably (temp file or link in the same directory,
 * fsync, rename), so a runtime starting a plugin meanwhile sees either the old file or the new one.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  utimesSync,
} from "node:fs";
import { join } from "node:path";
import { EXECUTABLE_MARKER } from "../build-info.js";

const CHUNK = 8 << 20;

/** lstat, or undefined when nothing is there. */
export function lstatOrNone(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Reads `file` in chunks; `visit` returns false to stop early. */
function scan(file: string, visit: (chunk: Buffer, offset: number) => boolean): void {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let offset = 0; ;) {
      const n = readSync(fd, buf, 0, CHUNK, offset);
      if (n === 0 || !visit(buf.subarray(0, n), offset)) return;
      offset += n;
    }
  } finally {
    closeSync(fd);
  }
}

const markerCache = new Map<string, boolean>();

/** True when `file` is a regular file holding a cni-ts build (any release). Cached per inode. */
export function isOurExecutable(file: string): boolean {
  const st = lstatOrNone(file);
  if (!st?.isFile()) return false;
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const cached = markerCache.get(key);
  if (cached !== undefined) return cached;
  const marker = Buffer.from(EXECUTABLE_MARKER);
  let found = false;
  let carry = Buffer.alloc(0);
  scan(file, (chunk) => {
    const window = Buffer.concat([carry, chunk]);
    found = window.includes(marker);
    carry = window.subarray(Math.max(0, window.length - marker.length + 1));
    return !found;
  });
  markerCache.set(key, found);
  return found;
}

/** True when both files have the same bytes (the same inode counts without reading). */
export function sameContents(a: string, b: string): boolean {
  const sa = statSync(a);
  const sb = lstatOrNone(b);
  if (!sb?.isFile() || sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const fd = openSync(b, "r");
  try {
    const other = Buffer.allocUnsafe(CHUNK);
    let same = true;
    scan(a, (chunk, offset) => {
      const n = readSync(fd, other, 0, chunk.length, offset);
      same = n === chunk.length && chunk.equals(other.subarray(0, n));
      return same;
    });
    return same;
  } finally {
    closeSync(fd);
  }
}

export function sameInode(a: Stats | undefined, b: Stats | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

let tmpCounter = 0;
function tmpName(dir: string, name: string): string {
  return join(dir, `.${name}.cni-ts-install.${process.pid}.${tmpCounter++}`);
}

function fsyncFile(file: string): void {
  const fd = openSync(file, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a copy of `source` at dir/name by rename: reflinked where the filesystem can (XFS, btrfs:
 * no extra blocks), else a full copy; mode 0755; modification time `mtime` (seconds) so copies of
 * one build carry the same time (the delegate's same-build test compares size and mtime).
 */
export function replaceWithCopy(source: string, dir: string, name: string, mtime: number): void {
  const tmp = tmpName(dir, name);
  try {
    copyFileSync(source, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    chmodSync(tmp, 0o755);
    utimesSync(tmp, mtime, mtime);
    fsyncFile(tmp);
    renameSync(tmp, join(dir, name));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Makes dir/name another name of dir/target (a hard link), by rename. */
export function replaceWithLink(dir: string, target: string, name: string): void {
  const tmp = tmpName(dir, name);
  try {
    linkSync(join(dir, target), tmp);
    renameSync(tmp, join(dir, name));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
