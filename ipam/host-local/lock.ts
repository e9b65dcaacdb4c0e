/**
 * The store's `lock` file, locked exactly as upstream's go-filemutex does (open O_RDONLY|O_CREAT,
 * mode 0750 less the umask, flock LOCK_EX), so the Go host-local and ours exclude each other.
 * Unlike upstream, a failure to lock is an error, never ignored. `fn` must be synchronous: the
 * lock is held for exactly its duration, and no other work of this process can interleave.
 */
import { constants } from "node:fs";
import { join } from "node:path";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { FileLockError, withFileLock } from "../../shared/sys/flock.js";

export function withStoreLock<T>(dir: string, fn: () => T): T {
  const path = join(dir, "lock");
  try {
    return withFileLock(path, constants.O_RDONLY | constants.O_CREAT, 0o750, fn);
  } catch (e) {
    if (!(e instanceof FileLockError)) throw e;
    const verb = e.stage === "open" ? "failed to open lock file" : "failed to lock";
    throw new CniError(ErrorCode.IoFailure, `${verb} ${path}: ${e.message}`);
  }
}
