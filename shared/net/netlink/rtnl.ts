/**
 * rtnetlink requests and answers, pure: the typed steps the plugins take (links, ifb devices,
 * addresses, routes), each encoded as the request `ip` itself would send, and the kernel's link, address and
 * route messages decoded into the views `ip -d -j` parsing gives (ip-json.ts), so callers do not
 * care which path ran. Names are resolved to indexes by the caller (the `Resolve` function).
 */
import { type Family, formatIp, parseCidr, parseIp } from "../ip.js";
import type { AddrInfo, LinkInfo, RouteInfo } from "../ip-json.js";
import {
  type Attr,
  type Attrs,
  attrStr,
  attrU32,
  attrU8,
  decodeAttrs,
  encodeAttrs as encodeAttrsOf,
  encodeMessage,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from "./wire.js";

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_GETROUTE = 26;

/** Multicast groups (bind(2) bitmask). */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV6_IFADDR = 0x100;

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;
const IFF_PROMISC = 0x100;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFLA_IFALIAS = 20;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
const VETH_INFO_PEER = 1;
const IFLA_BR_VLAN_FILTERING = 7;
const IFLA_BRPORT_MODE = 4;
const IFLA_BRPORT_ISOLATED = 33;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;

/** The second end of a veth pair, created directly in `netns` when given. */
export interface VethPeer {
  name: string;
  mtu?: number;
  txqlen?: number;
  address?: string;
  netns?: string;
}

/** One change to the kernel, as the plugins plan it. */
export type KernelOp =
  | { op: "bridge-add"; name: string; address?: string; mtu?: number; vlanFiltering?: boolean }
  | { op: "veth-add"; name: string; mtu?: number; txqlen?: number; peer: VethPeer }
  | { op: "ifb-add"; name: string; mtu?: number; txqlen?: number }
  | {
      op: "link-set";
      dev: string;
      up?: boolean;
      mtu?: number;
      txqlen?: number;
      master?: string;
      address?: string;
      promisc?: boolean;
      /** IFLA_IFALIAS; "" removes it. */
      alias?: string;
    }
  | { op: "port-set"; dev: string; hairpin: boolean; isolated: boolean }
  | { op: "link-del"; dev: string }
  | { op: "addr-add" | "addr-del"; dev: string; cidr: string }
  | {
      op: "route-append";
      dev: string;
      dst: string;
      gw?: string;
      metric?: number;
      table?: number;
      scope?: number;
      mtu?: number;
      advmss?: number;
    };

/** Interface names → indexes (the executor asks the kernel); netns paths → open descriptors. */
export interface Resolve {
  index(name: string): number;
  netnsFd(path: string): number;
}

function ifinfomsg(index = 0, flags = 0, change = 0, family = AF_UNSPEC): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`invalid MAC address ${JSON.stringify(mac)}`);
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

export function ipBytes(family: Family, addr: bigint): Uint8Array {
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  let v = addr;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function ipFromBytes(b: Uint8Array): { family: Family; text: string } {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  const family: Family = b.length === 4 ? 4 : 6;
  return { family, text: formatIp({ family, addr: v }) };
}

function mustCidr(text: string) {
  const c = parseCidr(text);
  if (!c) throw new Error(`invalid prefix ${JSON.stringify(text)}`);
  return c;
}

function mustIp(text: string) {
  const ip = parseIp(text);
  if (!ip) throw new Error(`invalid address ${JSON.stringify(text)}`);
  return ip;
}

function linkAttrs(o: { mtu?: number; txqlen?: number; address?: string }): Attr[] {
  const attrs: Attr[] = [];
  if (o.mtu) attrs.push({ type: IFLA_MTU, u32: o.mtu });
  if (o.txqlen !== undefined) attrs.push({ type: IFLA_TXQLEN, u32: o.txqlen });
  if (o.address) attrs.push({ type: IFLA_ADDRESS, bytes: macBytes(o.address) });
  return attrs;
}

const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const CHANGE = NLM_F_REQUEST | NLM_F_ACK;

/** The request that performs `op` (what iproute2 sends for the same command line). */
export function encodeOp(op: KernelOp, seq: number, r: Resolve): Uint8Array {
  switch (op.op) {
    case "bridge-add": {
      const data: Attr[] = op.vlanFiltering
        ? [{ type: IFLA_INFO_DATA, nested: [{ type: IFLA_BR_VLAN_FILTERING, u8: 1 }] }]
        : [];
      return encodeMessage(RTM_NEWLINK, CREATE, seq, ifinfomsg(), [
        { type: IFLA_IFNAME, str: op.name },
        ...linkAttrs(op),
        { type: IFLA_LINKINFO, nested: [{ type: IFLA_INFO_KIND, str: "bridge" }, ...data] },
      ]);
    }
    case "veth-add": {
      const p = op.peer;
      const peerAttrs: Attr[] = [{ type: IFLA_IFNAME, str: p.name }, ...linkAttrs(p)];
      if (p.netns) peerAttrs.push({ type: IFLA_NET_NS_FD, u32: r.netnsFd(p.netns) });
      // VETH_INFO_PEER holds an ifinfomsg followed by the peer's attributes (not a nested flag).
      const peer = new Uint8Array([...ifinfomsg(), ...encodeAttrsOf(peerAttrs)]);
      return encodeMessage(RTM_NEWLINK, CREATE, seq, ifinfomsg(), [
        { type: IFLA_IFNAME, str: op.name },
        ...linkAttrs(op),
        {
          type: IFLA_LINKINFO,
          nested: [
            { type: IFLA_INFO_KIND, str: "veth" },
            { type: IFLA_INFO_DATA, nested: [{ type: VETH_INFO_PEER, bytes: peer }] },
          ],
        },
      ]);
    }
    case "ifb-add":
      return encodeMessage(RTM_NEWLINK, CREATE, seq, ifinfomsg(), [
        { type: IFLA_IFNAME, str: op.name },
        ...linkAttrs(op),
        { type: IFLA_LINKINFO, nested: [{ type: IFLA_INFO_KIND, str: "ifb" }] },
      ]);
    case "link-set": {
      let flags = 0;
      let change = 0;
      if (op.up !== undefined) {
        change |= IFF_UP;
        if (op.up) flags |= IFF_UP;
      }
      if (op.promisc !== undefined) {
        change |= IFF_PROMISC;
        if (op.promisc) flags |= IFF_PROMISC;
      }
      const attrs = linkAttrs(op);
      if (op.master !== undefined) attrs.push({ type: IFLA_MASTER, u32: r.index(op.master) });
      // As ip sends it: the text without a NUL (the kernel stores the length it is given).
      if (op.alias !== undefined) attrs.push({ type: IFLA_IFALIAS, bytes: new TextEncoder().encode(op.alias) });
      return encodeMessage(RTM_NEWLINK, CHANGE, seq, ifinfomsg(r.index(op.dev), flags, change), attrs);
    }
    case "port-set":
      return encodeMessage(RTM_NEWLINK, CHANGE, seq, ifinfomsg(r.index(op.dev)), [
        {
          type: IFLA_LINKINFO,
          nested: [
            { type: IFLA_INFO_SLAVE_KIND, str: "bridge" },
            {
              type: IFLA_INFO_SLAVE_DATA,
              nested: [
                { type: IFLA_BRPORT_MODE, u8: op.hairpin ? 1 : 0 },
                { type: IFLA_BRPORT_ISOLATED, u8: op.isolated ? 1 : 0 },
              ],
            },
          ],
        },
      ]);
    case "link-del":
      return encodeMessage(RTM_DELLINK, CHANGE, seq, ifinfomsg(), [{ type: IFLA_IFNAME, str: op.dev }]);
    case "addr-add":
    case "addr-del": {
      const c = mustCidr(op.cidr);
      const fixed = new Uint8Array(8);
      const v = new DataView(fixed.buffer);
      v.setUint8(0, c.family === 4 ? AF_INET : AF_INET6);
      v.setUint8(1, c.prefix);
      v.setUint32(4, r.index(op.dev), true);
      const bytes = ipBytes(c.family, c.addr);
      const attrs: Attr[] = [
        { type: IFA_LOCAL, bytes },
        { type: IFA_ADDRESS, bytes },
      ];
      return op.op === "addr-add"
        ? encodeMessage(RTM_NEWADDR, CREATE, seq, fixed, attrs)
        : encodeMessage(RTM_DELADDR, CHANGE, seq, fixed, attrs);
    }
    case "route-append": {
      const dst = mustCidr(op.dst);
      const table = op.table ?? RT_TABLE_MAIN;
      const fixed = new Uint8Array(12);
      fixed[0] = dst.family === 4 ? AF_INET : AF_INET6;
      fixed[1] = dst.prefix;
      fixed[4] = table < 256 ? table : 0;
      fixed[5] = RTPROT_BOOT;
      // As `ip route`: a route without a gateway is link-scoped unless a scope is given.
      fixed[6] = op.scope ?? (op.gw ? 0 : RT_SCOPE_LINK);
      fixed[7] = RTN_UNICAST;
      const attrs: Attr[] = [{ type: RTA_DST, bytes: ipBytes(dst.family, dst.addr) }];
      if (table >= 256) attrs.push({ type: RTA_TABLE, u32: table });
      if (op.gw) {
        const gw = mustIp(op.gw);
        attrs.push({ type: RTA_GATEWAY, bytes: ipBytes(gw.family, gw.addr) });
      }
      if (op.metric) attrs.push({ type: RTA_PRIORITY, u32: op.metric });
      attrs.push({ type: RTA_OIF, u32: r.index(op.dev) });
      const metrics: Attr[] = [];
      if (op.mtu) metrics.push({ type: RTAX_MTU, u32: op.mtu });
      if (op.advmss) metrics.push({ type: RTAX_ADVMSS, u32: op.advmss });
      if (metrics.length > 0) attrs.push({ type: RTA_METRICS, bytes: encodeAttrsOf(metrics) });
      return encodeMessage(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, seq, fixed, attrs);
    }
  }
}

/** Requests for reading state. */
export function getLinkByName(seq: number, name: string): Uint8Array {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(), [{ type: IFLA_IFNAME, str: name }]);
}
export function getLinkByIndex(seq: number, index: number): Uint8Array {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(index));
}
/**
 * A link dump; with `masterIndex` the kernel lists only that bridge's ports, with `kind` only links
 * of that kind (as `ip link show type KIND` asks; callers filter too, older kernels ignore both).
 */
export function dumpLinks(seq: number, filter: { masterIndex?: number; kind?: string } = {}): Uint8Array {
  const attrs: Attr[] = [];
  if (filter.masterIndex !== undefined) attrs.push({ type: IFLA_MASTER, u32: filter.masterIndex });
  if (filter.kind !== undefined)
    attrs.push({ type: IFLA_LINKINFO, nested: [{ type: IFLA_INFO_KIND, str: filter.kind }] });
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfomsg(), attrs);
}
/**
 * Address and route dumps name the link they are for: a socket in strict mode (RtnlSocket.open)
 * gets only that link's entries from the kernel, not every pod veth's; the caller filters too, for
 * kernels without strict mode.
 */
export function dumpAddrs(seq: number, ifindex = 0): Uint8Array {
  const ifaddrmsg = new Uint8Array(8);
  new DataView(ifaddrmsg.buffer).setUint32(4, ifindex, true);
  return encodeMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddrmsg);
}
export function dumpRoutes(seq: number, oif = 0): Uint8Array {
  const attrs = oif > 0 ? [{ type: RTA_OIF, u32: oif }] : [];
  return encodeMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, new Uint8Array(12), attrs);
}

const OPERSTATES = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];
const FLAG_NAMES: Array<[number, string]> = [
  [0x8, "LOOPBACK"],
  [0x2, "BROADCAST"],
  [0x10, "POINTOPOINT"],
  [0x1000, "MULTICAST"],
  [0x80, "NOARP"],
  [0x200, "ALLMULTI"],
  [0x100, "PROMISC"],
  [0x400, "MASTER"],
  [0x800, "SLAVE"],
  [0x1, "UP"],
  [0x10000, "LOWER_UP"],
  [0x20000, "DORMANT"],
];

/** A decoded RTM_NEWLINK: the ip-json view plus the master's index (its name is the caller's to find). */
export interface NlLink extends LinkInfo {
  masterIndex: number | undefined;
}

export function parseLinkMessage(payload: Uint8Array): NlLink {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const index = v.getInt32(4, true);
  const ifFlags = v.getUint32(8, true);
  const a = decodeAttrs(payload.subarray(16));
  const info = nested(a, IFLA_LINKINFO);
  const data = info && attrStr(info.get(IFLA_INFO_KIND)) === "bridge" ? nested(info, IFLA_INFO_DATA) : undefined;
  const slave =
    info && attrStr(info.get(IFLA_INFO_SLAVE_KIND)) === "bridge" ? nested(info, IFLA_INFO_SLAVE_DATA) : undefined;
  const flags = FLAG_NAMES.filter(([bit]) => (ifFlags & bit) !== 0).map(([, name]) => name);
  if ((ifFlags & IFF_UP) !== 0 && (ifFlags & 0x40) === 0) flags.unshift("NO-CARRIER");
  const address = a.get(IFLA_ADDRESS);
  const linkIndex = attrU32(a.get(IFLA_LINK));
  return {
    ifindex: index,
    ifname: attrStr(a.get(IFLA_IFNAME)) ?? "",
    mtu: attrU32(a.get(IFLA_MTU)) ?? 0,
    txqlen: attrU32(a.get(IFLA_TXQLEN)) ?? 0,
    alias: attrStr(a.get(IFLA_IFALIAS)) ?? "",
    address: address ? formatMac(address) : "",
    operstate: OPERSTATES[attrU8(a.get(IFLA_OPERSTATE)) ?? 0] ?? "UNKNOWN",
    flags,
    kind: (info && attrStr(info.get(IFLA_INFO_KIND))) ?? "",
    master: undefined,
    masterIndex: attrU32(a.get(IFLA_MASTER)),
    // The kernel leaves IFLA_LINK out when it is the link's own index, so an equal value is a
    // veth peer in another namespace that happens to have the same index (common in fresh ones).
    linkIndex,
    promisc: (ifFlags & IFF_PROMISC) !== 0,
    vlanFiltering: attrU8(data?.get(IFLA_BR_VLAN_FILTERING)) === 1,
    port: slave
      ? { hairpin: attrU8(slave.get(IFLA_BRPORT_MODE)) === 1, isolated: attrU8(slave.get(IFLA_BRPORT_ISOLATED)) === 1 }
      : undefined,
    addrs: [],
  };
}

function nested(a: Attrs, type: number): Attrs | undefined {
  const b = a.get(type);
  return b ? decodeAttrs(b) : undefined;
}

const SCOPES: Record<number, string> = { 0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere" };

/** A decoded RTM_NEWADDR and the index of the link it belongs to. */
export function parseAddrMessage(payload: Uint8Array): { index: number; addr: AddrInfo } {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family = v.getUint8(0);
  const prefixlen = v.getUint8(1);
  const a = decodeAttrs(payload.subarray(8));
  const flags = attrU32(a.get(IFA_FLAGS)) ?? v.getUint8(2);
  const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS) ?? new Uint8Array(family === AF_INET ? 4 : 16);
  return {
    index: v.getUint32(4, true),
    addr: {
      family: family === AF_INET6 ? 6 : 4,
      local: ipFromBytes(raw).text,
      prefixlen,
      scope: SCOPES[v.getUint8(3)] ?? String(v.getUint8(3)),
      tentative: (flags & IFA_F_TENTATIVE) !== 0,
      dadfailed: (flags & IFA_F_DADFAILED) !== 0,
    },
  };
}

const TABLES: Record<number, string> = { 254: "main", 255: "local", 253: "default" };
const ROUTE_TYPES: Record<number, string> = {
  1: "unicast",
  2: "local",
  3: "broadcast",
  4: "anycast",
  5: "multicast",
  6: "blackhole",
  7: "unreachable",
  8: "prohibit",
  9: "throw",
  10: "nat",
};

/** A decoded RTM_NEWROUTE and its output interface index (0 when none). */
export function parseRouteMessage(payload: Uint8Array): { oif: number; route: RouteInfo } {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family: Family = v.getUint8(0) === AF_INET6 ? 6 : 4;
  const dstLen = v.getUint8(1);
  const a = decodeAttrs(payload.subarray(12));
  const table = attrU32(a.get(RTA_TABLE)) ?? v.getUint8(4);
  const dstRaw = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  const full = family === 4 ? 32 : 128;
  let dst = "default";
  if (dstRaw) dst = dstLen === full ? ipFromBytes(dstRaw).text : `${ipFromBytes(dstRaw).text}/${dstLen}`;
  return {
    oif: attrU32(a.get(RTA_OIF)) ?? 0,
    route: {
      dst,
      gateway: gw ? ipFromBytes(gw).text : undefined,
      dev: undefined,
      table: TABLES[table] ?? String(table),
      type: ROUTE_TYPES[v.getUint8(7)],
      metric: attrU32(a.get(RTA_PRIORITY)),
      family,
    },
  };
}
