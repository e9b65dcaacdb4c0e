/**
 * Runs code inside another network namespace without an `nsenter` process: under Bun the calling
 * thread switches with libc's setns(2) (through bun:ffi) and switches back before returning. While
 * switched, /proc/sys/net files opened and children spawned from this thread belong to the target
 * namespace. Under Node (unit tests) there is no FFI: withNetns returns undefined and callers keep
 * the nsenter path.
 */
import { SystemError } from "./system-error.js";
import { type LibcFunctions, loadLibc } from "./libc.js";

const CLONE_NEWNET = 0x40000000;
const O_RDONLY_CLOEXEC = 0o2000000;

const SIGNATURES = {
  open: { args: ["ptr", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
};

let lib: LibcFunctions<keyof typeof SIGNATURES> | null | undefined;
/** Set when switching back failed: this thread is in a foreign namespace for good. */
let stranded: string | undefined;

function cstring(s: string): Uint8Array {
  return Buffer.from(`${s}\0`, "utf8");
}

/** Which mechanism this process uses to act inside another namespace (for traces and tests). */
export function netnsMechanism(): "setns" | "nsenter" {
  if (lib === undefined) lib = loadLibc(SIGNATURES);
  return lib ? "setns" : "nsenter";
}

/**
 * Runs `fn` synchronously with the calling thread inside the network namespace `path` and returns
 * `{ value }`. Returns undefined without running `fn` when this cannot be done here (Node, no libc,
 * the file cannot be opened or is no network namespace): the caller then uses nsenter, which also
 * reports such errors in its usual words. Failing to switch back is fatal: nothing may go on in the
 * pod's namespace by mistake.
 */
export function withNetns<T>(path: string, fn: () => T): { value: T } | undefined {
  if (lib === undefined) lib = loadLibc(SIGNATURES);
  const l = lib;
  if (!l) return undefined;
  assertHome();
  // Opened through libc on this thread, so that thread-self is the thread that will switch.
  const home = l.open(cstring("/proc/thread-self/ns/net"), O_RDONLY_CLOEXEC);
  if (home < 0) return undefined;
  const target = l.open(cstring(path), O_RDONLY_CLOEXEC);
  try {
    if (target < 0 || l.setns(target, CLONE_NEWNET) !== 0) return undefined;
    try {
      return { value: fn() };
    } finally {
      if (l.setns(home, CLONE_NEWNET) !== 0) {
        const errno = l.errno();
        stranded = path;
        throw strandedError(errno);
      }
    }
  } finally {
    if (target >= 0) l.close(target);
    l.close(home);
  }
}

function strandedError(errno?: number): SystemError {
  return new SystemError(
    `fatal: cannot return from network namespace ${stranded}${errno === undefined ? "" : ` (setns errno ${errno})`}`,
    "the plugin stopped instead of acting in the wrong namespace; retry the operation",
  );
}

/** Throws once a switch back has failed, so that no further process starts in the wrong namespace. */
export function assertHome(): void {
  if (stranded !== undefined) throw strandedError();
}
