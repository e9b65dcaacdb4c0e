import { readFileSync } from "node:fs";
import { LATEST_VERSION, SUPPORTED_VERSIONS, isSupported } from "./versions.js";

export function versionJson(requested: string | undefined): string {
  const cniVersion = requested && isSupported(requested) ? requested : LATEST_VERSION;
  return `${JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS })}\n`;
}

/** VERSION ignores stdin except to echo a cniVersion the runtime sent. */
export function requestedVersion(readStdin: () => Buffer = () => readFileSync(0)): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readStdin().toString("utf8"));
    const v = (parsed as { cniVersion?: unknown })?.cniVersion;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
