/**
 * The node's attachments as libcni remembers them: one file per attachment under
 * `<cacheDir>/results/` (`<network>-<containerID>-<ifname>`, kind "cniCacheV1"), holding the
 * network config the runtime used (base64 of the conflist or conf bytes), the capability
 * arguments (portMappings, …), CNI_ARGS and the chain's final result. The runtime removes the
 * file on DEL, so a file is an attachment the runtime still considers set up; whether its pod
 * namespace still exists is a separate question (`liveness`).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { isPlainObject } from "../sys/plain-object.js";
import { type Result, parseResult } from "../cni/result.js";
import { probeNetns } from "../net/netns.js";

export { DEFAULT_CACHE_DIR, DEFAULT_CONF_DIR } from "../node/node-config.js";

const CacheFileSchema = z.looseObject({
  kind: z.literal("cniCacheV1"),
  containerId: z.string().check(z.minLength(1)),
  config: z.optional(z.nullable(z.string())),
  ifName: z.string().check(z.minLength(1)),
  networkName: z.string().check(z.minLength(1)),
  cniArgs: z.optional(z.nullable(z.array(z.tuple([z.string(), z.string()])))),
  capabilityArgs: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  result: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
});

/** One plugin of the attachment's chain, with the network-level keys libcni injects. */
export interface ChainPlugin {
  type: string;
  /** The plugin's config as libcni sends it (name, cniVersion, runtimeConfig filled in; no prevResult). */
  raw: Record<string, unknown>;
}

export interface CachedAttachment {
  file: string;
  mtimeMs: number;
  network: string;
  containerId: string;
  ifname: string;
  cniVersion: string;
  plugins: ChainPlugin[];
  result: Result | undefined;
  capabilityArgs: Record<string, unknown>;
}

export type Liveness = "live" | "gone" | "unknown";

/** The config libcni stored, or undefined (legacy entries carry none: the caller looks in the conf dir). */
function decodeConfig(b64: string | null | undefined): Record<string, unknown> | undefined {
  if (!b64) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The plugins of a conflist (or the one plugin of a single conf) as libcni hands them over:
 * name and cniVersion from the list, runtimeConfig holding only the capabilities the plugin
 * declares.
 */
export function chainPlugins(config: Record<string, unknown>, capabilityArgs: Record<string, unknown>): ChainPlugin[] {
  const list = Array.isArray(config.plugins) ? config.plugins : [config];
  const out: ChainPlugin[] = [];
  for (const entry of list) {
    if (!isPlainObject(entry) || typeof entry.type !== "string") continue;
    const raw: Record<string, unknown> = { ...entry, name: config.name, cniVersion: config.cniVersion };
    delete raw.plugins;
    const declared = isPlainObject(entry.capabilities) ? entry.capabilities : {};
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(declared))
      if (on === true && cap in capabilityArgs) runtimeConfig[cap] = capabilityArgs[cap];
    if (Object.keys(runtimeConfig).length > 0) raw.runtimeConfig = runtimeConfig;
    out.push({ type: entry.type, raw });
  }
  return out;
}

/** Parses one cache file; undefined when it is not a v1 cache entry we can use. */
export function parseCacheFile(
  text: string,
  file: string,
  mtimeMs: number,
  confByNetwork: ReadonlyMap<string, Record<string, unknown>> = new Map(),
): CachedAttachment | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = CacheFileSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  const config = decodeConfig(c.config) ?? confByNetwork.get(c.networkName);
  if (!config) return undefined;
  const cniVersion = typeof config.cniVersion === "string" ? config.cniVersion : "";
  let result: Result | undefined;
  try {
    result = c.result ? parseResult(c.result, cniVersion || "1.0.0", `cached result ${file}`) : undefined;
  } catch {
    result = undefined;
  }
  const capabilityArgs = c.capabilityArgs ?? {};
  return {
    file,
    mtimeMs,
    network: c.networkName,
    containerId: c.containerId,
    ifname: c.ifName,
    cniVersion,
    plugins: chainPlugins(config, capabilityArgs),
    result,
    capabilityArgs,
  };
}

/** Network configs in the conf dir by name (for cache entries that carry no config). */
export function confsByNetwork(confDir: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  let names: string[];
  try {
    names = readdirSync(confDir)
      .filter((n) => /\.(conflist|conf|json)$/.test(n))
      .sort();
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(confDir, name), "utf8"));
      if (isPlainObject(parsed) && typeof parsed.name === "string" && !out.has(parsed.name))
        out.set(parsed.name, parsed);
    } catch {
      // not a config: libcni skips it too
    }
  }
  return out;
}

/** Every usable cache entry, oldest first (the order the runtime added them). */
export function readCachedAttachments(cacheDir: string, confDir: string): CachedAttachment[] {
  const dir = join(cacheDir, "results");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const confs = confsByNetwork(confDir);
  const out: CachedAttachment[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      const entry = parseCacheFile(readFileSync(file, "utf8"), file, st.mtimeMs, confs);
      if (entry) out.push(entry);
    } catch {
      // removed by a concurrent DEL
    }
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs || a.file.localeCompare(b.file));
}

/** The pod namespace of the attachment, from the result's sandbox interface. */
export function sandboxOf(att: Pick<CachedAttachment, "result" | "ifname">): string | undefined {
  const ifs = att.result?.interfaces ?? [];
  return (ifs.find((i) => i.sandbox && i.name === att.ifname) ?? ifs.find((i) => i.sandbox))?.sandbox || undefined;
}

/** Whether the attachment's pod namespace still exists ("unknown" when the result names none). */
export function liveness(att: Pick<CachedAttachment, "result" | "ifname">): Liveness {
  const sandbox = sandboxOf(att);
  if (!sandbox) return "unknown";
  return probeNetns(sandbox).state === "ok" ? "live" : "gone";
}
