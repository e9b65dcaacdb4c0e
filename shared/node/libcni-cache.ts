/**
 * libcni's per-attachment cache: `<cacheDir>/results/<network>-<containerID>-<ifname>`, JSON of kind
 * "cniCacheV1" with the container, interface, network, CNI_ARGS, capability arguments and the
 * result. Only read here (and removed after a release, as libcni removes it after DEL).
 */
import { readFileSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { isPlainObject } from "../sys/plain-object.js";

export interface CachedAttachment {
  file: string;
  networkName: string;
  containerId: string;
  ifName: string;
  cniArgs: Array<[string, string]>;
  capabilityArgs: Record<string, unknown>;
  result?: Record<string, unknown>;
  /** The network config the runtime used, base64 of the conflist or conf bytes (absent in old entries). */
  config?: string;
  mtimeMs: number;
}

export function resultsDir(cacheDir: string): string {
  return join(cacheDir, "results");
}

function nonEmpty(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

export function parseCacheEntry(file: string, text: string, mtimeMs: number): CachedAttachment | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(raw) || raw.kind !== "cniCacheV1") return undefined;
  const { networkName, containerId, ifName } = raw;
  if (!nonEmpty(networkName) || !nonEmpty(containerId) || !nonEmpty(ifName)) return undefined;
  const cniArgs = Array.isArray(raw.cniArgs)
    ? raw.cniArgs.filter(
        (a): a is [string, string] => Array.isArray(a) && a.length === 2 && a.every((x) => typeof x === "string"),
      )
    : [];
  return {
    file,
    networkName,
    containerId,
    ifName,
    cniArgs,
    capabilityArgs: isPlainObject(raw.capabilityArgs) ? raw.capabilityArgs : {},
    ...(isPlainObject(raw.result) ? { result: raw.result } : {}),
    ...(nonEmpty(raw.config) ? { config: raw.config } : {}),
    mtimeMs,
  };
}

/** Every readable cache entry (others are skipped: libcni itself ignores what it cannot parse). */
export function listCache(cacheDir: string): CachedAttachment[] {
  const dir = resultsDir(cacheDir);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: CachedAttachment[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const entry = parseCacheEntry(file, readFileSync(file, "utf8"), statSync(file).mtimeMs);
      if (entry) out.push(entry);
    } catch {
      // removed while we looked
    }
  }
  return out;
}

export function findCached(
  cacheDir: string,
  network: string,
  containerId: string,
  ifname: string,
): CachedAttachment | undefined {
  const file = join(resultsDir(cacheDir), `${network}-${containerId}-${ifname}`);
  try {
    return parseCacheEntry(file, readFileSync(file, "utf8"), statSync(file).mtimeMs);
  } catch {
    return undefined;
  }
}

export function removeCached(entry: { file: string }): void {
  try {
    unlinkSync(entry.file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
