import { SystemError } from "../sys/system-error.js";

/** CNI error codes (spec §Error; 50/51 from SPEC after 1.1.0, 8 from skel). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

/** An error that reaches the runtime as `{"cniVersion","code","msg","details"}` on stdout. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details = "",
  ) {
    super(msg);
    this.name = "CniError";
  }

  /** Prefix the message, keeping the code: how "failed to delegate add: …" is built. */
  wrap(prefix: string): CniError {
    return new CniError(this.code, `${prefix}: ${this.message}`, this.details);
  }
}

export function isCniError(e: unknown): e is CniError {
  return e instanceof CniError;
}

/** True for the errors the suite raises on purpose (CniError and the system layer's SystemError). */
export function isExpectedError(e: unknown): e is CniError | SystemError {
  return e instanceof CniError || e instanceof SystemError;
}

/**
 * Any thrown value as a CniError: the system layer's errors get their code here (environment: 4,
 * else 999, the hint as details); unexpected ones become code 999 with a one-line message.
 */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof SystemError) {
    return new CniError(
      e.kind === "environment" ? ErrorCode.InvalidEnvironment : ErrorCode.Internal,
      e.message,
      e.hint,
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new CniError(ErrorCode.Internal, msg.split("\n")[0] ?? "internal error");
}
