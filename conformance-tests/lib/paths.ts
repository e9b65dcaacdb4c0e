import { PLUGIN_NAMES } from "../../shared/plugins.js";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the harness finds the two plugin implementations and its libcni client. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Our built executables (`npm run build`). */
export const OURS_BIN = join(REPO_ROOT, "dist", "bin");

/** Debian's containernetworking-plugins 1.1.1: the Go reference implementation, the oracle. */
export const REFERENCE_BIN = "/usr/lib/cni";

export const CNITOOL_DIR = join(REPO_ROOT, "conformance-tests", "cnitool");
export const CNITOOL = join(CNITOOL_DIR, "cnitool");

/** Which plugin implementation a sandbox runs. */
export type Impl = "reference" | "ours";

export function binDirFor(impl: Impl): string {
  return impl === "reference" ? REFERENCE_BIN : OURS_BIN;
}

/** PATH for every process the harness starts (ip, nsenter, iptables live in sbin). */
export const TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Fails with what to do when our executables have not been built (never a silent skip). */
export function requireOursBuilt(plugins: readonly string[] = PLUGIN_NAMES): void {
  const missing = plugins.filter((p) => !existsSync(join(OURS_BIN, p)));
  if (missing.length > 0) throw new Error(`${missing.join(", ")} missing in ${OURS_BIN}: run \`npm run build\` first`);
}
