/**
 * A node's CNI configuration as the plugins would see it: the networks in the configuration
 * directory (libcni's rule: *.conf, *.conflist and *.json, in name order) and, for each, the paths
 * its plugins compute — host-local's store (ipam.dataDir, also through flannel's ipam), flannel's
 * subnetFile and dataDir — with the plugins' defaults. Operator commands take their paths from here.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { isPlainObject } from "../sys/plain-object.js";

export const DEFAULT_CONF_DIR = "/etc/cni/net.d";
export const DEFAULT_BIN_DIR = "/opt/cni/bin";
export const DEFAULT_CACHE_DIR = "/var/lib/cni";
const HOST_LOCAL_DATA_DIR = "/var/lib/cni/networks";
const FLANNEL_DATA_DIR = "/var/lib/cni/flannel";
const FLANNEL_SUBNET_FILE = "/run/flannel/subnet.env";

export interface NodePaths {
  confDir: string;
  binDir: string;
  cacheDir: string;
}

export type PluginConf = Record<string, unknown> & { type: string };

export interface FlannelPaths {
  subnetFile: string;
  dataDir: string;
}

export interface NodeNetwork {
  file: string;
  name: string;
  cniVersion: string;
  /** The list's plugins (a single .conf is a list of one). */
  plugins: PluginConf[];
  /** host-local's dataDir when the network's IPAM is host-local (directly or through flannel). */
  hostLocalDataDir?: string;
  flannel?: FlannelPaths;
}

/** A configuration file that could not be used, and why. */
export interface ConfProblem {
  file: string;
  problem: string;
}

export interface NodeConfig {
  paths: NodePaths;
  networks: NodeNetwork[];
  problems: ConfProblem[];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The host-local dataDir of one plugin entry, when its IPAM is host-local. */
function hostLocalDataDir(plugin: PluginConf): string | undefined {
  const ipam = isPlainObject(plugin.ipam) ? plugin.ipam : undefined;
  // flannel hands its ipam object to the delegate, with type host-local unless set.
  const type = plugin.type === "flannel" ? (str(ipam?.type) ?? "host-local") : str(ipam?.type);
  if (type !== "host-local") return undefined;
  return str(ipam?.dataDir) ?? HOST_LOCAL_DATA_DIR;
}

/** Parses one configuration file's text into a network, or says why it is unusable. */
export function parseNetwork(file: string, text: string): NodeNetwork | ConfProblem {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { file, problem: `not JSON: ${(e as Error).message}` };
  }
  if (!isPlainObject(raw)) return { file, problem: "not a JSON object" };
  const name = str(raw.name);
  if (!name) return { file, problem: "no network name" };
  const list = file.endsWith(".conflist") ? raw.plugins : [raw];
  if (!Array.isArray(list) || list.length === 0) return { file, problem: "no plugins" };
  const plugins: PluginConf[] = [];
  for (const p of list) {
    if (!isPlainObject(p) || !str(p.type)) return { file, problem: "a plugin entry has no type" };
    plugins.push(p as PluginConf);
  }
  const net: NodeNetwork = { file, name, cniVersion: str(raw.cniVersion) ?? "0.1.0", plugins };
  for (const p of plugins) {
    net.hostLocalDataDir ??= hostLocalDataDir(p);
    if (p.type === "flannel" && !net.flannel) {
      net.flannel = {
        subnetFile: str(p.subnetFile) ?? FLANNEL_SUBNET_FILE,
        dataDir: str(p.dataDir) ?? FLANNEL_DATA_DIR,
      };
    }
  }
  return net;
}

/** The configuration files of a directory as libcni picks them: *.conf, *.conflist, *.json, in name order. */
export function configFileNames(confDir: string): string[] {
  return readdirSync(confDir)
    .filter((n) => /\.(conf|conflist|json)$/.test(n))
    .sort();
}

export function loadNodeConfig(paths: NodePaths): NodeConfig {
  let names: string[];
  try {
    names = configFileNames(paths.confDir);
  } catch (e) {
    return { paths, networks: [], problems: [{ file: paths.confDir, problem: (e as Error).message }] };
  }
  const networks: NodeNetwork[] = [];
  const problems: ConfProblem[] = [];
  for (const n of names) {
    const file = join(paths.confDir, n);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      problems.push({ file, problem: (e as Error).message });
      continue;
    }
    const parsed = parseNetwork(file, text);
    if ("problem" in parsed) problems.push(parsed);
    else networks.push(parsed);
  }
  return { paths, networks, problems };
}

/** host-local's store directory of a network (its name under dataDir). */
export function storeDirOf(net: NodeNetwork): string | undefined {
  return net.hostLocalDataDir === undefined ? undefined : join(net.hostLocalDataDir, net.name);
}
