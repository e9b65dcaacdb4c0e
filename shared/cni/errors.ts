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

/** Any thrown value as a CniError; unexpected ones become code 999 with a one-line message. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CniError(ErrorCode.Internal, msg.split("\n")[0] ?? "internal error");
}
