/**
 * libc through Bun's FFI: the one loader of the system layer (flock, setns, the netlink socket).
 * Each caller names the functions it needs and gets them bound once, or null where there is no
 * FFI (Node, i.e. unit tests) or no libc: callers then fall back to a process (flock(1), nsenter,
 * ip). Only the named symbols are bound, since binding costs start-up time of every call.
 */
type Arg = number | Uint8Array;
export type LibcFunctions<K extends string> = { [F in K]: (...args: Arg[]) => number } & { errno(): number };

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...a: unknown[]) => unknown> };
  read: { i32(ptr: unknown, offset: number): number };
}

const LIBC_NAMES = ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1"];

/** Binds the named libc functions (signatures in bun:ffi's words); null when this runtime cannot. */
export function loadLibc<K extends string>(
  signatures: Record<K, { args: string[]; returns: string }>,
): LibcFunctions<K> | null {
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return null;
  // A plain require: Bun provides it in both module formats, and this line never runs under Node.
  const ffi = require("bun:ffi") as BunFfi;
  for (const name of LIBC_NAMES) {
    let symbols: Record<string, (...a: unknown[]) => unknown>;
    try {
      symbols = ffi.dlopen(name, { ...signatures, __errno_location: { args: [], returns: "ptr" } }).symbols;
    } catch {
      continue;
    }
    const out: Record<string, unknown> = { errno: () => ffi.read.i32(symbols.__errno_location!(), 0) };
    for (const fn of Object.keys(signatures)) {
      const raw = symbols[fn]!;
      out[fn] = (...args: Arg[]) => Number(raw(...args));
    }
    return out as LibcFunctions<K>;
  }
  return null;
}
