/**
 * The node's attachments as libcni remembers them: one file per attachment under
 * `<cacheDir>/results/` (`<network>-<containerID>-<ifname>`, kind "cniCacheV1"), holding the
 * network config the runtime used (base64 of the conflist or conf bytes), the capability
 * arguments (portMappings, …), CNI_ARGS and the chain's final result. The runtime removes the
 * file on DEL, so a file is an attachment the runtime still considers set up; whether its pod
 * namespace still exists is a separate question (`liveness`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPlainObject } from "../sys/plain-object.js";
import { type Result, parseResult } from "../cni/result.js";
import { probeNetns } from "../net/netns.js";

import { type CachedAttachment as CacheEntry, listCache, parseCacheEntry } from "../node/libcni-cache.js";
import { configFileNames } from "../node/node-config.js";

export { DEFAULT_CACHE_DIR, DEFAULT_CONF_DIR } from "../node/node-config.js";

/** One plugin of the attachment's chain, with the network-level keys libcni injects. */
export interface ChainPlugin {
  type: string;
  /** The plugin's config as libcni sends it (name, cniVersion, runtimeConfig filled in; no prevResult). */
  raw: Record<string, unknown>;
}

export interface AttachmentChain {
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
): AttachmentChain | undefined {
  const entry = parseCacheEntry(file, text, mtimeMs);
  return entry && withChain(entry, confByNetwork);
}

/** A cache entry with its chain decoded: the config it carries, else the conf dir's of its network. */
function withChain(entry: CacheEntry, confByNetwork: ReadonlyMap<string, Record<string, unknown>>) {
  const config = decodeConfig(entry.config) ?? confByNetwork.get(entry.networkName);
  if (!config) return undefined;
  const cniVersion = typeof config.cniVersion === "string" ? config.cniVersion : "";
  let result: Result | undefined;
  try {
    result = entry.result ? parseResult(entry.result, cniVersion || "1.0.0", `cached result ${entry.file}`) : undefined;
  } catch {
    result = undefined;
  }
  return {
    file: entry.file,
    mtimeMs: entry.mtimeMs,
    network: entry.networkName,
    containerId: entry.containerId,
    ifname: entry.ifName,
    cniVersion,
    plugins: chainPlugins(config, entry.capabilityArgs),
    result,
    capabilityArgs: entry.capabilityArgs,
  };
}

/** Network configs in the conf dir by name (for cache entries that carry no config). */
export function confsByNetwork(confDir: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  let names: string[];
  try {
    names = configFileNames(confDir);
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
export function readCachedAttachments(cacheDir: string, confDir: string): AttachmentChain[] {
  const confs = confsByNetwork(confDir);
  return listCache(cacheDir)
    .flatMap((entry) => withChain(entry, confs) ?? [])
    .sort((a, b) => a.mtimeMs - b.mtimeMs || a.file.localeCompare(b.file));
}

/** The pod namespace of the attachment, from the result's sandbox interface. */
export function sandboxOf(att: Pick<AttachmentChain, "result" | "ifname">): string | undefined {
  const ifs = att.result?.interfaces ?? [];
  return (ifs.find((i) => i.sandbox && i.name === att.ifname) ?? ifs.find((i) => i.sandbox))?.sandbox || undefined;
}

/** Whether the attachment's pod namespace still exists ("unknown" when the result names none). */
export function liveness(att: Pick<AttachmentChain, "result" | "ifname">): Liveness {
  const sandbox = sandboxOf(att);
  if (!sandbox) return "unknown";
  return probeNetns(sandbox).state === "ok" ? "live" : "gone";
}
