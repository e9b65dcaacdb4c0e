import { CniError } from "./errors.js";

/** Test support: runs `fn`, which must throw a CniError, and returns that error. */
export function cniErrorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected a CniError, but nothing was thrown");
}
