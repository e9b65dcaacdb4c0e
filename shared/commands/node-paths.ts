/**
 * The path flags of the node commands: `--conf-dir` (libcni's network configs) and
 * `--cache-dir` (libcni's cache, whose `results/` lists the attachments), with the node's
 * standard locations as defaults.
 */
import { parseArgs } from "node:util";
import { writeAll } from "../sys/write-all.js";
import { DEFAULT_CACHE_DIR, DEFAULT_CONF_DIR } from "./cached-attachments.js";

export interface NodePaths {
  confDir: string;
  cacheDir: string;
}

export type ParsedFlags = { help: true } | { help: false; paths: NodePaths } | { help: false; error: string };

export const PATH_FLAGS_USAGE = `  --conf-dir DIR    network configs (default ${DEFAULT_CONF_DIR})
  --cache-dir DIR   libcni's cache; attachments are read from DIR/results (default ${DEFAULT_CACHE_DIR})
`;

export function parseNodePaths(args: string[]): ParsedFlags {
  try {
    const { values } = parseArgs({
      args,
      options: {
        "conf-dir": { type: "string" },
        "cache-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) return { help: true };
    const confDir = values["conf-dir"] ?? DEFAULT_CONF_DIR;
    const cacheDir = values["cache-dir"] ?? DEFAULT_CACHE_DIR;
    for (const [flag, dir] of [["--conf-dir", confDir], ["--cache-dir", cacheDir]] as const) {
      if (!dir.startsWith("/")) return { help: false, error: `${flag} must be an absolute path` };
    }
    return { help: false, paths: { confDir, cacheDir } };
  } catch (e) {
    return { help: false, error: (e as Error).message };
  }
}

/** Runs a node command's body with its parsed paths; --help prints `usage`, a bad flag exits 2. */
export async function withNodePaths(command: string, usage: string, args: string[], body: (paths: NodePaths) => Promise<number>): Promise<number> {
  const flags = parseNodePaths(args);
  if (flags.help) {
    writeAll(1, usage);
    return 0;
  }
  if ("error" in flags) {
    writeAll(2, `cni-ts ${command}: ${flags.error}\n${usage}`);
    return 2;
  }
  return body(flags.paths);
}
