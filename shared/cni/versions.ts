import { CniError, ErrorCode } from "./errors.js";

export const SUPPORTED_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = "1.1.0";

/** Result shape families: 0.1.0/0.2.0 (ip4/ip6), 0.3.x/0.4.0 (ips with version), 1.x (no version). */
export type ResultShape = "020" | "040" | "100";

export function isSupported(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Numeric comparison of dotted versions; "" counts as 0.1.0 as in libcni. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a || "0.1.0");
  const pb = parseVersion(b || "0.1.0");
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new CniError(ErrorCode.DecodingFailure, `invalid version "${v}": expected MAJOR.MINOR.PATCH`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function atLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

export function resultShapeOf(v: string): ResultShape {
  const version = v || "0.1.0";
  if (version === "0.1.0" || version === "0.2.0") return "020";
  if (version === "0.3.0" || version === "0.3.1" || version === "0.4.0") return "040";
  if (version === "1.0.0" || version === "1.1.0") return "100";
  throw new CniError(ErrorCode.IncompatibleVersion, `unsupported CNI result version "${version}"`);
}

/** The config's version must be exactly one we speak (skel's reconcile rule). */
export function requireSupported(v: string): CniVersion {
  const version = v || "0.1.0";
  if (!isSupported(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      "incompatible CNI versions",
      `config is "${version}", plugin supports ${JSON.stringify(SUPPORTED_VERSIONS)}`,
    );
  }
  return version;
}
