/**
 * The test library's one namespace observer: read-only views of what a user can see in a sandbox
 * namespace (links, addresses, routes, sysctls, bridge port flags, firewall rules, files; all run
 * inside the given namespace), a whole namespace's state as comparable text (`netnsState`, the
 * soak's "node unchanged" check), and the root namespace's snapshot (`rootSnapshot`, for tests
 * that run a real runtime). state.ts captures a sandbox node for twin comparisons from these.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { type Netns, execIn } from "./netns.js";
import { sh } from "./run-command.js";

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
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
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
  return (entry?.addr_info ?? []).filter((a) => all || a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
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
  const keys = [
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/forwarding",
    "net/ipv6/conf/all/forwarding",
    "net/ipv4/conf/all/route_localnet",
  ];
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
export async function ipSnapshot(
  ns: Netns,
): Promise<{ links: LinkInfo[]; addresses: AddrEntry[]; routes: RouteEntry[] }> {
  const r = await execIn(ns, ["ip", "-j", "-d", "-batch", "-"], {
    input: "link show\naddr show\nroute show table all\n",
  });
  const parts = r.stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("["))
    .map((l) => JSON.parse(l) as unknown[]);
  if (parts.length !== 3)
    throw new Error(`ip -batch in ${ns.name} printed ${parts.length} JSON arrays, expected 3:\n${r.stdout}`);
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
  return stripCounters(r.stdout).trim();
}

/** iptables-save text without its comment lines and with packet counters zeroed. */
function stripCounters(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/g, "[0:0]"))
    .join("\n");
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

/**
 * A namespace's observable network state, normalized so two readings of an untouched namespace
 * are equal: links (without counters), addresses, routes, iptables and nftables rules.
 */
export async function netnsState(ns: Netns): Promise<string> {
  const parts: string[] = [];
  const ip = async (args: string[]): Promise<string> => (await execIn(ns, ["ip", ...args], { check: false })).stdout;
  parts.push(normalizeLinks(await ip(["-o", "-d", "link", "show"])));
  parts.push(await ip(["-o", "addr", "show"]));
  parts.push(await ip(["-4", "route", "show", "table", "all"]));
  parts.push(await ip(["-6", "route", "show", "table", "all"]));
  parts.push(stripCounters((await execIn(ns, ["iptables-save"], { check: false })).stdout));
  parts.push(stripCounters((await execIn(ns, ["ip6tables-save"], { check: false })).stdout));
  parts.push((await execIn(ns, ["nft", "list", "ruleset"], { check: false })).stdout);
  return parts.join("\n--\n");
}

function normalizeLinks(text: string): string {
  // operstate/carrier of a fresh veth may flap; the set of links and their config is what matters.
  return text.replace(/ state \S+/g, "").replace(/ (qlen|alias) \S+/g, "");
}

/** Line-level difference of two state readings, for a readable failure. */
export function diffState(before: string, after: string): string[] {
  const a = new Set(before.split("\n"));
  const b = new Set(after.split("\n"));
  return [
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`),
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`),
  ];
}

/**
 * A read-only look at the machine's root network namespace: link names, IPv4 routes and the
 * forwarding sysctls a bridge plugin would flip. Compared before/after to prove a test that runs
 * a real runtime changed nothing there.
 */
export interface RootSnapshot {
  links: string[];
  routes: string[];
  sysctls: Record<string, string>;
}

const SYSCTLS = ["net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv6/conf/all/forwarding"];

export async function rootSnapshot(): Promise<RootSnapshot> {
  const links = JSON.parse((await sh(["ip", "-j", "link", "show"], { duringTeardown: true })).stdout) as {
    ifname: string;
  }[];
  const routes = (await sh(["ip", "-4", "route", "show", "table", "all"], { duringTeardown: true })).stdout;
  const sysctls: Record<string, string> = {};
  for (const k of SYSCTLS) sysctls[k] = readFileSync(`/proc/sys/${k}`, "utf8").trim();
  return {
    links: links.map((l) => l.ifname).sort(),
    routes: routes.split("\n").filter(Boolean).sort(),
    sysctls,
  };
}

/** What appeared in the root namespace since `before` (links and routes) and any sysctl change. */
export function rootChanges(before: RootSnapshot, after: RootSnapshot): string[] {
  const out: string[] = [];
  for (const l of after.links) if (!before.links.includes(l)) out.push(`new link ${l}`);
  for (const r of after.routes) if (!before.routes.includes(r)) out.push(`new route ${r}`);
  for (const [k, v] of Object.entries(after.sysctls))
    if (before.sysctls[k] !== v) out.push(`${k} ${before.sysctls[k]} -> ${v}`);
  return out;
}
