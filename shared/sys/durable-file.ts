/*
 * The two halves of every atomic, durable state change (write temp, fsync, rename or link, fsync
 * the directory). The callers own naming and the rename/link in between.
 */
import { closeSync, constants, fsyncSync, openSync, unlinkSync } from "node:fs";
import { writeAll } from "./write-all.js";

/** Creates `path` exclusively with `data` and fsyncs it; on any failure the file is removed again. */
export function writeFileSynced(path: string, data: string | Buffer, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    throw e;
  }
  closeSync(fd);
}

/** Makes the names created, renamed or removed in `dir` durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
