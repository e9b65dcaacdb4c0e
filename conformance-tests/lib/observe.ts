import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { type Netns, execIn } from "./netns.js";

/**
 * Read-only observers of what a user can see in a sandbox namespace: links, addresses, routes,
 * sysctls, bridge port flags, firewall rules, files. All run inside the given namespace.
 */

/** One entry of `ip -j -d link show` (only the fields tests use are typed). */
export interface LinkInfo {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  master?: string;
  link?: string;
  link_netnsid?: number;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
  [key: string]: unknown;
}

export interface AddrInfo {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope: string;
  broadcast?: string;
  [key: string]: unknown;
}

export interface AddrEntry {
  ifname: string;
  addr_info: AddrInfo[];
  [key: string]: unknown;
}

export interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
  flags?: string[];
  [key: string]: unknown;
}

async function ipJson<T>(ns: Netns, args: string[]): Promise<T[]> {
  const r = await execIn(ns, ["ip", "-j", ...args]);
  const text = r.stdout.trim();
  return text ? (JSON.parse(text) as T[]) : [];
}

export function links(ns: Netns): Promise<LinkInfo[]> {
  return ipJson<LinkInfo>(ns, ["-d", "link", "show"]);
}

export async function link(ns: Netns, ifname: string): Promise<LinkInfo | undefined> {
  return (await links(ns)).find((l) => l.ifname === ifname);
}

export function addresses(ns: Netns): Promise<AddrEntry[]> {
  return ipJson<AddrEntry>(ns, ["addr", "show"]);
}

/** "a.b.c.d/len" strings on one interface, global scope only unless `all`. */
export async function cidrsOf(ns: Netns, ifname: string, all = false): Promise<string[]> {
  const entry = (await addresses(ns)).find((a) => a.ifname === ifname);
  return (entry?.addr_info ?? [])
    .filter((a) => all || a.scope === "global")
    .map((a) => `${a.local}/${a.prefixlen}`);
}

/** Routes of one family; table "main" by default, "all" includes local/broadcast entries. */
export function routes(ns: Netns, family: 4 | 6 = 4, table: "main" | "all" = "main"): Promise<RouteEntry[]> {
  return ipJson<RouteEntry>(ns, [`-${family}`, "route", "show", "table", table]);
}

/**
 * Reads sysctls inside the namespace in one process. Keys use slashes or dots relative to
 * /proc/sys ("net.ipv4.ip_forward"); interface names with dots must use the slash form.
 * Missing keys are absent from the result.
 */
export async function sysctls(ns: Netns, keys: readonly string[]): Promise<Record<string, string>> {
  if (keys.length === 0) return {};
  const toPath = (k: string): string => `/proc/sys/${k.includes("/") ? k : k.replaceAll(".", "/")}`;
  const paths = keys.map(toPath);
  const r = await execIn(ns, ["grep", "-H", "-s", "", ...paths], { check: false });
  const byPath = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) byPath.set(line.slice(0, i), line.slice(i + 1));
  }
  const out: Record<string, string> = {};
  keys.forEach((k, idx) => {
    const v = byPath.get(paths[idx]!);
    if (v !== undefined) out[k] = v;
  });
  return out;
}

export async function sysctl(ns: Netns, key: string): Promise<string | undefined> {
  return (await sysctls(ns, [key]))[key];
}

/** The sysctls bridge/host-local/portmap are known to set, for the given interfaces. */
export function interestingSysctls(ifnames: readonly string[]): string[] {
  const keys = ["net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/route_localnet"];
  for (const i of ifnames) {
    keys.push(
      `net/ipv4/conf/${i}/forwarding`,
      `net/ipv4/conf/${i}/arp_notify`,
      `net/ipv4/conf/${i}/route_localnet`,
      `net/ipv4/conf/${i}/proxy_arp`,
      `net/ipv4/conf/${i}/rp_filter`,
      `net/ipv6/conf/${i}/disable_ipv6`,
      `net/ipv6/conf/${i}/accept_ra`,
      `net/ipv6/conf/${i}/accept_dad`,
      `net/ipv6/conf/${i}/forwarding`,
      `net/ipv6/conf/${i}/keep_addr_on_down`,
    );
  }
  return keys;
}

/**
 * Links (with details), addresses and the routes of both families in every table from one
 * `ip -batch` process (a batch has no preferred family, so `route show` lists IPv4 and IPv6),
 * for callers that need all of them at once (state capture).
 */
export async function ipSnapshot(ns: Netns): Promise<{ links: LinkInfo[]; addresses: AddrEntry[]; routes: RouteEntry[] }> {
  const r = await execIn(ns, ["ip", "-j", "-d", "-batch", "-"], { input: "link show\naddr show\nroute show table all\n" });
  const parts = r.stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("["))
    .map((l) => JSON.parse(l) as unknown[]);
  if (parts.length !== 3) throw new Error(`ip -batch in ${ns.name} printed ${parts.length} JSON arrays, expected 3:\n${r.stdout}`);
  return { links: parts[0] as LinkInfo[], addresses: parts[1] as AddrEntry[], routes: parts[2] as RouteEntry[] };
}

/** `bridge -j -d link show`: one entry per bridge port with its flags (hairpin, learning, …). */
export interface BridgePort {
  ifname: string;
  master?: string;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
  state?: string;
  [key: string]: unknown;
}

export async function bridgePorts(ns: Netns): Promise<BridgePort[]> {
  const r = await execIn(ns, ["bridge", "-j", "-d", "link", "show"]);
  const text = r.stdout.trim();
  return text ? (JSON.parse(text) as BridgePort[]) : [];
}

/** iptables-save (IPv4 or IPv6) without comments and with packet counters zeroed. */
export async function iptablesRules(ns: Netns, family: 4 | 6 = 4): Promise<string> {
  const r = await execIn(ns, [family === 4 ? "iptables-save" : "ip6tables-save"]);
  return r.stdout
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/g, "[0:0]"))
    .join("\n")
    .trim();
}

export async function nftRuleset(ns: Netns): Promise<string> {
  const r = await execIn(ns, ["nft", "list", "ruleset"]);
  return r.stdout.trim();
}

/** Every regular file under dir (relative path → bytes), sorted by path. */
export function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}
