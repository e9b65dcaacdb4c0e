/**
 * The DEL a runtime would have sent for an attachment whose pod is gone, run the way libcni runs
 * it: every plugin of the network's list in reverse order, executed from the plugin directory,
 * with the list's name and cniVersion injected, the cached result as prevResult from 0.4.0 on,
 * the cached capability arguments as runtimeConfig, the cached CNI_ARGS, and no CNI_NETNS (the
 * namespace is gone). Stops at the first failure, as libcni does, so the caller keeps its cache
 * entry and a later run can retry.
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { CachedAttachment } from "./libcni-cache.js";
import type { NodeNetwork } from "./node-config.js";

export interface DelTarget {
  containerId: string;
  ifname: string;
}

export interface DelOutcome {
  ok: boolean;
  /** "portmap: ok", "flannel: failed (code 11): …" per plugin run. */
  steps: string[];
}

const PLACEHOLDER_MAPPING = { hostPort: 1, containerPort: 1, protocol: "tcp" };
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function versionAtLeast(v: string, want: [number, number, number]): boolean {
  const parts = v.split(".").map((x) => Number(x));
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    if (a !== want[i]) return a > want[i]!;
  }
  return true;
}

/** What libcni puts on a plugin's stdin for DEL. */
export function delStdin(
  net: NodeNetwork,
  index: number,
  cached: CachedAttachment | undefined,
): Record<string, unknown> {
  const plugin = net.plugins[index]!;
  const conf: Record<string, unknown> = { ...plugin, name: net.name, cniVersion: net.cniVersion };
  if (cached?.result && versionAtLeast(net.cniVersion, [0, 4, 0])) conf.prevResult = cached.result;
  const caps = typeof plugin.capabilities === "object" && plugin.capabilities !== null ? plugin.capabilities : {};
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(caps)) {
    if (on === true && cached && cap in cached.capabilityArgs) runtimeConfig[cap] = cached.capabilityArgs[cap];
  }
  // portmap skips a DEL without mappings, and its rules are found by container, not by mapping:
  // without the runtime's cached arguments a placeholder mapping makes it look for them.
  if ((caps as Record<string, unknown>).portMappings === true && !("portMappings" in runtimeConfig)) {
    runtimeConfig.portMappings = [PLACEHOLDER_MAPPING];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

/** Runs one plugin's DEL; returns undefined on success, else the reason. */
export type PluginRunner = (
  binDir: string,
  type: string,
  env: Record<string, string>,
  stdin: string,
) => string | undefined;

export const execPlugin: PluginRunner = (binDir, type, env, stdin) => {
  const exe = join(binDir, type);
  try {
    if (!statSync(exe).isFile()) return `${exe} is not a file`;
  } catch {
    return `failed to find plugin "${type}" in path [${binDir}]`;
  }
  const r = spawnSync(exe, [], { input: stdin, env, stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
  if (r.error) return `${exe}: ${r.error.message}`;
  if (r.status === 0) return undefined;
  const out = r.stdout.toString().trim();
  try {
    const err = JSON.parse(out) as { code?: number; msg?: string; details?: string };
    return `code ${err.code}: ${err.msg}${err.details ? ` (${err.details})` : ""}`;
  } catch {
    return `exit status ${r.status ?? r.signal}: ${(out || r.stderr.toString().trim()).split("\n")[0]}`;
  }
};

export function deleteAttachment(
  net: NodeNetwork,
  binDir: string,
  target: DelTarget,
  cached: CachedAttachment | undefined,
  runPlugin: PluginRunner = execPlugin,
  afterEach: (type: string) => void = () => {},
): DelOutcome {
  const steps: string[] = [];
  const env: Record<string, string> = {
    PATH: process.env.PATH || DEFAULT_PATH,
    CNI_COMMAND: "DEL",
    CNI_CONTAINERID: target.containerId,
    CNI_NETNS: "",
    CNI_IFNAME: target.ifname,
    CNI_ARGS: (cached?.cniArgs ?? []).map(([k, v]) => `${k}=${v}`).join(";"),
    CNI_PATH: binDir,
  };
  for (let i = net.plugins.length - 1; i >= 0; i--) {
    const type = net.plugins[i]!.type;
    const failure = runPlugin(binDir, type, env, JSON.stringify(delStdin(net, i, cached)));
    if (failure !== undefined) {
      steps.push(`${type}: DEL failed: ${failure}`);
      return { ok: false, steps };
    }
    steps.push(`${type}: DEL ok`);
    afterEach(type);
  }
  return { ok: true, steps };
}
