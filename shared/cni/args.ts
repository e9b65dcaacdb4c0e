import { CniError, ErrorCode } from "./errors.js";

/** Keys every runtime may send; accepted by every plugin. */
const COMMON_KEYS = ["IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"];

/**
 * CNI_ARGS "K1=V1;K2=V2" with Go's types.LoadArgs semantics: each pair has exactly one "=",
 * keys are case-sensitive, unknown keys are an error unless IgnoreUnknown is 1/true.
 */
export function parseCniArgs(raw: string, knownKeys: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === "") return out;
  const unknown: string[] = [];
  const known = new Set([...COMMON_KEYS, ...knownKeys]);
  for (const pair of raw.split(";")) {
    const parts = pair.split("=");
    if (parts.length !== 2) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `ARGS: invalid pair "${pair}"`,
        "CNI_ARGS must be KEY=VALUE pairs separated by ';'",
      );
    }
    const [key, value] = parts as [string, string];
    if (!known.has(key)) unknown.push(key);
    out.set(key, value);
  }
  const ignoreUnknown = /^(1|true)$/i.test(out.get("IgnoreUnknown") ?? "");
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `ARGS: unknown args [${unknown.join(" ")}]`,
      "add IgnoreUnknown=1 to CNI_ARGS to pass keys this plugin does not use",
    );
  }
  for (const key of unknown) out.delete(key);
  return out;
}
