/**
 * A minimal runtime that executes a config list plugin by plugin the way libcni does (ADD in
 * order with prevResult chaining, CHECK in order and DEL in reverse with the cached ADD result,
 * runtimeConfig from declared capabilities), for what Debian's libcni 1.1.2 cannot do:
 * cniVersion 1.1.0, GC and STATUS. It keeps its own result cache in the node's cache dir.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CallOptions, CniOutcome, CniVerb } from "../cni-calls.js";
import type { Pod, SandboxNode } from "../sandbox.js";
import { compareVersions } from "../spec-version.js";

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
  [key: string]: unknown;
}

/** Finds the config list named `network` in the node's conf dir (sorted file names, first match). */
export function loadConflist(node: SandboxNode, network: string): ConfList {
  const files = readdirSync(node.confDir)
    .filter((f) => f.endsWith(".conflist"))
    .sort();
  for (const f of files) {
    const conf = JSON.parse(readFileSync(join(node.confDir, f), "utf8")) as ConfList;
    if (conf.name === network) return conf;
  }
  throw new Error(`no config list named ${network} in ${node.confDir}`);
}

/** The stdin one plugin of the list receives (Go marshals map keys sorted; so do we). */
export function pluginStdin(
  list: ConfList,
  plugin: Record<string, unknown>,
  prevResult: unknown,
  capArgs: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const declared = (plugin.capabilities ?? {}) as Record<string, unknown>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(capArgs ?? {})) if (declared[k] === true) runtimeConfig[k] = v;
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return Object.fromEntries(Object.entries(conf).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function pluginType(plugin: Record<string, unknown>): string {
  if (typeof plugin.type !== "string")
    throw new Error(`plugin config without a string "type": ${JSON.stringify(plugin)}`);
  return plugin.type;
}

function cacheFile(node: SandboxNode, network: string, containerId: string, ifname: string): string {
  const dir = join(node.cacheDir, "direct");
  mkdirSync(dir, { recursive: true });
  return join(dir, `${network}-${containerId}-${ifname}`);
}

function cachedResult(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

export async function directAdd(
  node: SandboxNode,
  network: string,
  pod: Pod,
  opts: CallOptions = {},
): Promise<CniOutcome> {
  const list = loadConflist(node, network);
  let prev: unknown = undefined;
  let last: CniOutcome | undefined;
  for (const plugin of list.plugins) {
    last = await node.invoke(pluginType(plugin), "ADD", pluginStdin(list, plugin, prev, opts.capArgs), pod, opts);
    if (!last.ok) return last;
    prev = last.json;
  }
  if (!last) throw new Error(`config list ${network} has no plugins`);
  writeFileSync(
    cacheFile(node, network, opts.containerId ?? pod.containerId, opts.ifname ?? "eth0"),
    JSON.stringify(prev),
  );
  return last;
}

/** CHECK in order with the cached result; like libcni, refuses lists older than 0.4.0. */
export async function directCheck(
  node: SandboxNode,
  network: string,
  pod: Pod,
  opts: CallOptions = {},
): Promise<CniOutcome> {
  const version = loadConflist(node, network).cniVersion;
  if (compareVersions(version, "0.4.0") < 0)
    throw new Error(`configuration version "${version}" does not support the CHECK command`);
  return runEach(node, network, pod, "CHECK", opts, false);
}

export async function directDel(
  node: SandboxNode,
  network: string,
  pod: Pod | null,
  opts: CallOptions = {},
): Promise<CniOutcome> {
  const out = await runEach(node, network, pod, "DEL", opts, true);
  if (out.ok) rmSync(cacheFileFor(node, network, pod, opts), { force: true });
  return out;
}

function cacheFileFor(node: SandboxNode, network: string, pod: Pod | null, opts: CallOptions): string {
  const cid = opts.containerId ?? pod?.containerId ?? `cts-${node.token}-nopod`;
  return cacheFile(node, network, cid, opts.ifname ?? "eth0");
}

async function runEach(
  node: SandboxNode,
  network: string,
  pod: Pod | null,
  verb: CniVerb,
  opts: CallOptions,
  reverse: boolean,
): Promise<CniOutcome> {
  const list = loadConflist(node, network);
  // libcni sends no prevResult on DEL before 0.4.0 (the cache did not exist yet in the spec).
  const prev =
    verb === "DEL" && compareVersions(list.cniVersion, "0.4.0") < 0
      ? undefined
      : cachedResult(cacheFileFor(node, network, pod, opts));
  const plugins = reverse ? [...list.plugins].reverse() : list.plugins;
  let last: CniOutcome | undefined;
  for (const plugin of plugins) {
    last = await node.invoke(pluginType(plugin), verb, pluginStdin(list, plugin, prev, opts.capArgs), pod, opts);
    if (!last.ok) return last;
  }
  if (!last) throw new Error(`config list ${network} has no plugins`);
  return last;
}

/**
 * GC (spec 1.1.0): every plugin in order, with `cni.dev/valid-attachments` listing what should
 * stay. Returns the first failure or the last outcome.
 */
export async function directGc(
  node: SandboxNode,
  network: string,
  valid: readonly { containerID: string; ifname: string }[],
  opts: CallOptions = {},
): Promise<CniOutcome> {
  const list = loadConflist(node, network);
  let last: CniOutcome | undefined;
  for (const plugin of list.plugins) {
    const stdin = { ...pluginStdin(list, plugin, undefined, undefined), "cni.dev/valid-attachments": valid };
    last = await node.invoke(pluginType(plugin), "GC", stdin, null, opts);
    if (!last.ok) return last;
  }
  if (!last) throw new Error(`config list ${network} has no plugins`);
  return last;
}

/** STATUS (spec 1.1.0): every plugin in order, first failure wins. */
export async function directStatus(node: SandboxNode, network: string, opts: CallOptions = {}): Promise<CniOutcome> {
  const list = loadConflist(node, network);
  let last: CniOutcome | undefined;
  for (const plugin of list.plugins) {
    last = await node.invoke(pluginType(plugin), "STATUS", pluginStdin(list, plugin, undefined, undefined), null, opts);
    if (!last.ok) return last;
  }
  if (!last) throw new Error(`config list ${network} has no plugins`);
  return last;
}
