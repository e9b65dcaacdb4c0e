/**
 * A comparable picture of a sandbox: per namespace links/addresses/routes/sysctls/port flags, the
 * node's firewall rules, and every file in the dataDir. Keyed by names (never ifindex) so two
 * sandboxes can be diffed; veth names are replaced by their role (see vethRoles).
 */
import {
  type LinkInfo,
  type RouteEntry,
  bridgePorts,
  filesUnder,
  interestingSysctls,
  ipSnapshot,
  iptablesRules,
  nftRuleset,
  sysctls,
} from "./observe.js";
import { settleLinks } from "./link-settle.js";
import type { Netns } from "./netns.js";
import type { SandboxNode } from "./sandbox.js";

export interface NsState {
  links: Record<string, Record<string, unknown>>;
  addresses: Record<string, string[]>;
  routes: string[];
  sysctls: Record<string, string>;
  bridgePorts: Record<string, Record<string, unknown>>;
}

export interface SandboxState {
  node: NsState;
  pods: Record<string, NsState>;
  iptables: string[];
  ip6tables: string[];
  nft: string[];
  /** dataDir files: relative path → content (utf8; base64: prefix when not text). */
  files: Record<string, string>;
  /** Real node-side veth name → its role ("veth<a:eth0>"), to normalise results the same way. */
  renames: Record<string, string>;
}

// Stable, user-visible link attributes worth comparing (timers, ids and counters are not).
const BRIDGE_KEYS = [
  "forward_delay",
  "hello_time",
  "max_age",
  "ageing_time",
  "stp_state",
  "priority",
  "vlan_filtering",
  "vlan_protocol",
  "mcast_snooping",
];
const PORT_KEYS = [
  "state",
  "priority",
  "cost",
  "hairpin",
  "guard",
  "root_block",
  "fastleave",
  "learning",
  "flood",
  "proxy_arp",
  "proxy_arp_wifi",
  "mcast_flood",
  "isolated",
  "neigh_suppress",
];
const LINK_KEYS = [
  "flags",
  "mtu",
  "operstate",
  "master",
  "promiscuity",
  "link_type",
  "txqlen",
  "qdisc",
  "inet6_addr_gen_mode",
];
/**
 * IPv6 link-local addresses (and their fe80 routes) appear when addrconf gets to the link, some
 * time after it came up, so they are timing too. Compared instead: the link's inet6_addr_gen_mode
 * and the disable_ipv6 sysctl, which decide whether one will appear.
 */
const isLinkLocal6 = (addr: string): boolean => addr.toLowerCase().startsWith("fe80:");

export async function captureState(node: SandboxNode, opts: { firewall?: boolean } = {}): Promise<SandboxState> {
  await settleLinks([node, ...node.pods]);
  const podStates: [string, NsState][] = [];
  const nodeIp = await ipSnapshot(node);
  const nodeLinks = nodeIp.links;
  const roles = new Map<number, string>();
  for (const pod of node.pods) {
    const podIp = await ipSnapshot(pod);
    for (const [index, role] of vethRoles(pod.label, podIp.links)) roles.set(index, role);
    podStates.push([pod.label, await captureNs(pod, podIp, new Map())]);
  }
  const renames: Record<string, string> = {};
  for (const l of nodeLinks) {
    const role = roles.get(l.ifindex);
    if (role) renames[l.ifname] = role;
  }
  const nodeState = await captureNs(node, nodeIp, roles);
  const firewall = opts.firewall ?? true;
  const split = (s: string): string[] => (s ? s.split("\n") : []);
  return {
    node: nodeState,
    pods: Object.fromEntries(podStates),
    iptables: firewall ? split(await iptablesRules(node, 4)) : [],
    ip6tables: firewall ? split(await iptablesRules(node, 6)) : [],
    nft: firewall ? split(await nftRuleset(node)) : [],
    files: Object.fromEntries([...filesUnder(node.dataDir)].map(([p, b]) => [p, fileText(b)])),
    renames,
  };
}

/** Node-side ifindex of each pod veth → "veth<label:ifname>", found through the peer link index. */
export function vethRoles(podLabel: string, podLinks: readonly LinkInfo[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const l of podLinks) {
    const peer = l.link_index;
    if (l.linkinfo?.info_kind === "veth" && typeof peer === "number") out.set(peer, `veth<${podLabel}:${l.ifname}>`);
  }
  return out;
}

async function captureNs(
  ns: Netns,
  ip: Awaited<ReturnType<typeof ipSnapshot>>,
  roles: Map<number, string>,
): Promise<NsState> {
  const nsLinks = ip.links;
  const rename = new Map<string, string>();
  for (const l of nsLinks) {
    const role = roles.get(l.ifindex);
    if (role) rename.set(l.ifname, role);
  }
  const nameOf = (n: string | undefined): string | undefined => (n === undefined ? undefined : (rename.get(n) ?? n));
  const realNames = nsLinks.map((l) => l.ifname);

  const linkMap: Record<string, Record<string, unknown>> = {};
  for (const l of nsLinks) {
    const entry: Record<string, unknown> = { kind: l.linkinfo?.info_kind ?? null };
    for (const k of LINK_KEYS) if (l[k] !== undefined) entry[k] = k === "master" ? nameOf(l.master) : l[k];
    if (l.address !== undefined) entry.address = l.link_type === "ether" ? "<mac>" : l.address;
    if (l.linkinfo?.info_kind === "bridge") entry.bridge = pick(l.linkinfo.info_data, BRIDGE_KEYS);
    if (l.linkinfo?.info_slave_kind)
      entry.port = { kind: l.linkinfo.info_slave_kind, ...pick(l.linkinfo.info_slave_data, PORT_KEYS) };
    linkMap[nameOf(l.ifname)!] = entry;
  }

  const addrMap: Record<string, string[]> = {};
  for (const a of ip.addresses) {
    addrMap[nameOf(a.ifname)!] = a.addr_info
      .filter((i) => !(i.family === "inet6" && isLinkLocal6(i.local)))
      .map((i) => `${i.local}/${i.prefixlen} scope ${i.scope}`)
      .sort();
  }

  const routeLines = ip.routes
    .filter((r) => !isLinkLocal6(r.dst))
    .map((r) => routeLine(r, nameOf))
    .sort();

  const sysMap: Record<string, string> = {};
  for (const [k, v] of Object.entries(await sysctls(ns, interestingSysctls(realNames)))) {
    sysMap[k.replace(/conf\/([^/]+)\//, (_m, n: string) => `conf/${nameOf(n)}/`)] = v;
  }

  const ports: Record<string, Record<string, unknown>> = {};
  for (const p of await bridgePorts(ns)) {
    const { ifindex: _i, ifname, master, ...rest } = p;
    ports[nameOf(ifname)!] = { ...rest, master: nameOf(master) };
  }
  return { links: linkMap, addresses: addrMap, routes: routeLines, sysctls: sysMap, bridgePorts: ports };
}

/** `ip route`-like one-line form of a JSON route, without volatile fields. */
export function routeLine(r: RouteEntry, nameOf: (n: string | undefined) => string | undefined = (n) => n): string {
  const parts = [r.type && r.type !== "unicast" ? `${r.type} ${r.dst}` : r.dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.dev) parts.push(`dev ${nameOf(r.dev)}`);
  if (r.table && r.table !== "main") parts.push(`table ${r.table}`);
  if (r.protocol) parts.push(`proto ${r.protocol}`);
  if (r.scope) parts.push(`scope ${r.scope}`);
  if (r.prefsrc) parts.push(`src ${r.prefsrc}`);
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
  if (typeof r.mtu === "number") parts.push(`mtu ${r.mtu}`);
  if (typeof r.advmss === "number") parts.push(`advmss ${r.advmss}`);
  if (r.flags && r.flags.length > 0) parts.push(r.flags.join(" "));
  return parts.join(" ");
}

function pick(obj: Record<string, unknown> | undefined, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function fileText(b: Buffer): string {
  const s = b.toString("utf8");
  return Buffer.from(s, "utf8").equals(b) && !s.includes("\u0000") ? s : `base64:${b.toString("base64")}`;
}
