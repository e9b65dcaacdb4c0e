import { childProcess } from "./child-process.js";

/**
 * Whole-file advisory locks with flock(2) semantics, interoperable with Go's go-filemutex (the
 * lock belongs to the open file description). Node has no flock API: under Bun we call libc's
 * flock through bun:ffi (no process started); elsewhere (unit tests under Node) util-linux
 * flock(1) takes the lock on a descriptor it inherits from us, and since the lock belongs to the
 * shared open file description it stays held after that child exits. Closing our descriptor
 * releases it either way.
 */
const LOCK_EX = 2;
const LOCK_UN = 8;
const EINTR = 4;

type FlockCall = (fd: number, op: number) => void;

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: { flock(fd: number, op: number): number; __errno_location(): unknown } };
  read: { i32(ptr: unknown, offset: number): number };
}

let call: FlockCall | null | undefined;

function bunFlock(): FlockCall | null {
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return null;
  // A plain require: Bun provides it in both module formats, and this line never runs under Node.
  const ffi = require("bun:ffi") as BunFfi;
  for (const libc of ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1"]) {
    let lib: ReturnType<BunFfi["dlopen"]>;
    try {
      lib = ffi.dlopen(libc, {
        flock: { args: ["i32", "i32"], returns: "i32" },
        __errno_location: { args: [], returns: "ptr" },
      });
    } catch {
      continue;
    }
    return (fd, op) => {
      for (;;) {
        if (lib.symbols.flock(fd, op) === 0) return;
        const errno = ffi.read.i32(lib.symbols.__errno_location(), 0);
        if (errno !== EINTR) throw new Error(`flock(2) failed with errno ${errno}`);
      }
    };
  }
  return null;
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
