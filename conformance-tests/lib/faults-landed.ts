import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FuzzPlugin } from "./faults-fuzz-cases.js";
import { REPO_ROOT } from "./paths.js";

const SOURCES: Record<FuzzPlugin, string> = {
  bridge: "plugins/bridge/index.ts",
  "host-local": "ipam/host-local/index.ts",
  flannel: "plugins/flannel/index.ts",
  loopback: "plugins/loopback/index.ts",
  portmap: "plugins/portmap/index.ts",
  bandwidth: "plugins/bandwidth/index.ts",
};

/**
 * Plugins whose implementation has landed (their entry is no longer the "not implemented yet"
 * placeholder); the fuzzing covers exactly these and names them.
 */
export function landedPlugins(): FuzzPlugin[] {
  return (Object.keys(SOURCES) as FuzzPlugin[]).filter(
    (p) => !readFileSync(join(REPO_ROOT, SOURCES[p]), "utf8").includes("not implemented yet"),
  );
}
