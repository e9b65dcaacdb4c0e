/**
 * The path flags every node command takes (the node's standard paths by default), parsed with
 * the command's own flags. Unknown flags and stray arguments are errors, reported in one line.
 */
import { parseArgs } from "node:util";
import { DEFAULT_BIN_DIR, DEFAULT_CACHE_DIR, DEFAULT_CONF_DIR, type NodePaths } from "../node/node-config.js";

export const PATH_FLAGS_HELP = `  --conf-dir DIR    network configurations (default ${DEFAULT_CONF_DIR})
  --bin-dir DIR     plugin executables (default ${DEFAULT_BIN_DIR})
  --cache-dir DIR   libcni's cache, results under DIR/results (default ${DEFAULT_CACHE_DIR})
Data directories (host-local's and flannel's dataDir, flannel's subnetFile) are read from the
configurations, as the plugins compute them.`;

type FlagSpec = Record<string, { type: "string" | "boolean" }>;

export class UsageError extends Error {}

export function parseNodeFlags<T extends FlagSpec>(
  args: string[],
  own: T,
): { paths: NodePaths; values: { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string }; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        ...own,
        "conf-dir": { type: "string" },
        "bin-dir": { type: "string" },
        "cache-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  return {
    paths: {
      confDir: (v["conf-dir"] as string | undefined) ?? DEFAULT_CONF_DIR,
      binDir: (v["bin-dir"] as string | undefined) ?? DEFAULT_BIN_DIR,
      cacheDir: (v["cache-dir"] as string | undefined) ?? DEFAULT_CACHE_DIR,
    },
    values: v as never,
    help: v.help === true,
  };
}
