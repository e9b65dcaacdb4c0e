/**
 * Unit-test support: the CniError a call throws (or a promise rejects with). Anything else thrown
 * is rethrown, and nothing thrown fails the test.
 */
import { CniError } from "../../../shared/cni/errors.js";

export function cniErrorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected a CniError, but nothing was thrown");
}

export async function cniRejectionOf(p: unknown): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected a CniError, but the promise resolved");
}
