/** The one parser of what `ip -d -j` prints for links, addresses and routes: typed views. */
import { isPlainObject } from "../sys/plain-object.js";

export interface AddrInfo {
  family: 4 | 6;
  local: string;
  prefixlen: number;
  scope: string;
  tentative: boolean;
  dadfailed: boolean;
}

export interface LinkInfo {
  ifindex: number;
  ifname: string;
  mtu: number;
  /** Transmit queue length. */
  txqlen: number;
  /** IFLA_IFALIAS, "" when none. */
  alias: string;
  address: string;
  operstate: string;
  flags: string[];
  /** info_kind (bridge, veth, ...), "" when ip gave none. */
  kind: string;
  master: string | undefined;
  /** Peer ifindex of a veth (IFLA_LINK). */
  linkIndex: number | undefined;
  promisc: boolean;
  vlanFiltering: boolean;
  /** Bridge port flags when the link is enslaved to a bridge. */
  port: { hairpin: boolean; isolated: boolean } | undefined;
  addrs: AddrInfo[];
}

export interface RouteInfo {
  dst: string;
  gateway: string | undefined;
  dev: string | undefined;
  table: string | undefined;
  type: string | undefined;
  metric: number | undefined;
  family: 4 | 6;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

export function parseLink(raw: unknown): LinkInfo {
  const o = isPlainObject(raw) ? raw : {};
  const info = isPlainObject(o.linkinfo) ? o.linkinfo : {};
  const data = isPlainObject(info.info_data) ? info.info_data : {};
  const slave =
    info.info_slave_kind === "bridge" && isPlainObject(info.info_slave_data) ? info.info_slave_data : undefined;
  const flags = Array.isArray(o.flags) ? o.flags.map(str) : [];
  return {
    ifindex: num(o.ifindex) ?? 0,
    ifname: str(o.ifname),
    mtu: num(o.mtu) ?? 0,
    txqlen: num(o.txqlen) ?? 0,
    alias: str(o.ifalias),
    address: str(o.address),
    operstate: str(o.operstate),
    flags,
    kind: str(info.info_kind),
    master: typeof o.master === "string" ? o.master : undefined,
    linkIndex: num(o.link_index),
    promisc: flags.includes("PROMISC"),
    vlanFiltering: data.vlan_filtering === 1,
    port: slave ? { hairpin: slave.hairpin === true, isolated: slave.isolated === true } : undefined,
    addrs: (Array.isArray(o.addr_info) ? o.addr_info : []).filter(isPlainObject).map(parseAddr),
  };
}

function parseAddr(a: Record<string, unknown>): AddrInfo {
  return {
    family: a.family === "inet6" ? 6 : 4,
    local: str(a.local),
    prefixlen: num(a.prefixlen) ?? 0,
    scope: str(a.scope),
    tentative: a.tentative === true,
    dadfailed: a.dadfailed === true,
  };
}

export function parseRoute(raw: unknown): RouteInfo {
  const o = isPlainObject(raw) ? raw : {};
  const dst = str(o.dst);
  const gateway = typeof o.gateway === "string" ? o.gateway : undefined;
  const six = dst.includes(":") || (gateway?.includes(":") ?? false) || "pref" in o;
  return {
    dst,
    gateway,
    dev: typeof o.dev === "string" ? o.dev : undefined,
    table: typeof o.table === "string" ? o.table : undefined,
    type: typeof o.type === "string" ? o.type : undefined,
    metric: num(o.metric),
    family: six ? 6 : 4,
  };
}
