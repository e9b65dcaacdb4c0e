/**
 * Whole-file advisory locks with flock(2) semantics, interoperable with Go's go-filemutex (the
 * lock belongs to the open file description). Node has no flock API: under Bun we call libc's
 * flock through bun:ffi (no process started); elsewhere (unit tests under Node) util-linux
 * flock(1) takes the lock on a descriptor it inherits from us, and since the lock belongs to the
 * shared open file description it stays held after that child exits. Closing our descriptor
 * releases it either way.
 */
import { closeSync, openSync } from "node:fs";
import { childProcess } from "./child-process.js";
import { loadLibc } from "./libc.js";

const LOCK_EX = 2;
const LOCK_UN = 8;
const EINTR = 4;

type FlockCall = (fd: number, op: number) => void;

let call: FlockCall | null | undefined;

function bunFlock(): FlockCall | null {
  const lib = loadLibc({ flock: { args: ["i32", "i32"], returns: "i32" } });
  if (!lib) return null;
  return (fd, op) => {
    for (;;) {
      if (lib.flock(fd, op) === 0) return;
      const errno = lib.errno();
      if (errno !== EINTR) throw new Error(`flock(2) failed with errno ${errno}`);
    }
  };
}

function flockCommand(fd: number, op: number): void {
  if (op === LOCK_UN) return; // closing the descriptor releases the lock
  const r = childProcess().spawnSync("flock", ["-x", "3"], { stdio: ["ignore", "ignore", "pipe", fd] });
  if (r.error) throw new Error(`cannot run flock(1): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`flock(1) failed: ${r.stderr.toString().trim() || `exit status ${r.status}`}`);
}

function flock(fd: number, op: number): void {
  if (call === undefined) call = bunFlock();
  (call ?? flockCommand)(fd, op);
}

/** Blocks until this process holds the exclusive lock of the file open as `fd`. */
export function lockExclusive(fd: number): void {
  flock(fd, LOCK_EX);
}

/** Releases the lock early; closing `fd` releases it too. */
export function unlock(fd: number): void {
  flock(fd, LOCK_UN);
}

/** Which mechanism this process uses (for traces and tests). */
export function flockMechanism(): "ffi" | "flock(1)" {
  if (call === undefined) call = bunFlock();
  return call ? "ffi" : "flock(1)";
}

/** Where `withFileLock` failed: opening the file or taking its lock (`original` is the error it met). */
export class FileLockError extends Error {
  constructor(
    readonly stage: "open" | "lock",
    readonly path: string,
    readonly original: Error,
  ) {
    super(original.message);
  }
}

/**
 * The one "open, flock, run, close" helper: opens `path` (`flags`, `mode`), holds its exclusive
 * lock for exactly the duration of the synchronous `fn`, then closes it (releasing the lock).
 * Failing to open or lock throws FileLockError, which the caller words.
 */
export function withFileLock<T>(path: string, flags: number | string, mode: number, fn: () => T): T {
  let fd: number;
  try {
    fd = openSync(path, flags, mode);
  } catch (e) {
    throw new FileLockError("open", path, e as Error);
  }
  try {
    try {
      lockExclusive(fd);
    } catch (e) {
      throw new FileLockError("lock", path, e as Error);
    }
    return fn();
  } finally {
    closeSync(fd);
  }
}
