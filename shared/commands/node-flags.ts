/**
 * The path flags every node command takes (the node's standard paths by default), parsed with
 * the command's own flags. Unknown flags and stray arguments are errors, reported in one line.
 */
import { writeAll } from "../sys/write-all.js";
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

/**
 * Runs a node command's body with its parsed flags: --help prints `usage`, a bad flag or a
 * relative path exits 2 with the reason and the usage.
 */
export async function withNodeFlags<T extends FlagSpec>(
  command: string,
  usage: string,
  args: string[],
  own: T,
  body: (paths: NodePaths, values: ReturnType<typeof parseNodeFlags<T>>["values"]) => Promise<number>,
): Promise<number> {
  let flags;
  try {
    flags = parseNodeFlags(args, own);
    for (const [flag, dir] of [
      ["--conf-dir", flags.paths.confDir],
      ["--bin-dir", flags.paths.binDir],
      ["--cache-dir", flags.paths.cacheDir],
    ]) {
      if (!dir!.startsWith("/")) throw new UsageError(`${flag} must be an absolute path`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAll(2, `cni-ts ${command}: ${e.message}\n${usage}`);
    return 2;
  }
  if (flags.help) {
    writeAll(1, usage);
    return 0;
  }
  return body(flags.paths, flags.values);
}
