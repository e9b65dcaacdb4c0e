import { statfsSync } from "node:fs";
import { SystemError } from "../sys/system-error.js";

/** Magic numbers of the file systems a network namespace handle can live on (pkg/ns's rule). */
const NSFS_MAGIC = 0x6e736673;
const PROCFS_MAGIC = 0x9fa0;

export type NetnsProbe =
  { state: "ok" } | { state: "missing" } | { state: "not-netns"; magic: number } | { state: "error"; message: string };

/** What lives at `path`: a namespace handle, nothing, or something else (e.g. an unmounted bind file). */
export function probeNetns(path: string): NetnsProbe {
  try {
    const magic = Number(statfsSync(path).type);
    if (magic === NSFS_MAGIC || magic === PROCFS_MAGIC) return { state: "ok" };
    return { state: "not-netns", magic };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return { state: "missing" };
    return { state: "error", message: (e as Error).message };
  }
}

/** ADD and CHECK need the pod's namespace; the error says what was found instead (pkg/ns's texts). */
export function requireNetns(path: string): void {
  const p = probeNetns(path);
  const prefix = `failed to open netns "${path}"`;
  switch (p.state) {
    case "ok":
      return;
    case "missing":
      throw new SystemError(
        `${prefix}: failed to Statfs "${path}": no such file or directory`,
        "the pod's network namespace is gone; the runtime must create it before ADD",
      );
    case "not-netns":
      throw new SystemError(
        `${prefix}: unknown FS magic on "${path}": ${p.magic.toString(16)}`,
        "CNI_NETNS must be a network namespace handle (a bind mount under /var/run/netns or /proc/PID/ns/net)",
      );
    case "error":
      throw new SystemError(`${prefix}: ${p.message}`);
  }
}
