import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { lockExclusive } from "../../shared/sys/flock.js";

/**
 * The store's `lock` file, locked exactly as upstream's go-filemutex does (open O_RDONLY|O_CREAT,
 * mode 0750 less the umask, flock LOCK_EX), so the Go host-local and ours exclude each other.
 * Unlike upstream, a failure to lock is an error, never ignored. `fn` must be synchronous: the
 * lock is held for exactly its duration, and no other work of this process can interleave.
 */
export function withStoreLock<T>(dir: string, fn: () => T): T {
  const path = join(dir, "lock");
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o750);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `failed to open lock file ${path}: ${(e as Error).message}`);
  }
  try {
    try {
      lockExclusive(fd);
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `failed to lock ${path}: ${(e as Error).message}`);
    }
    return fn();
  } finally {
    closeSync(fd);
  }
}
