/**
 * IP addresses and prefixes as Go's net package reads and prints them: one `Ip` (a family and a
 * number), one `Cidr` (an `Ip` with a prefix, the address kept as written), BigInt arithmetic for
 * masks, +1, containment and overlap. Pure; every plugin reads and writes addresses through it.
 */
import { parseIpv6 } from "./ipv6-text.js";

export type Family = 4 | 6;

/** An address. IPv4-mapped IPv6 addresses are IPv4 (Go's To4() makes them so). */
export interface Ip {
  readonly family: Family;
  readonly addr: bigint;
}

/** "address/prefix" with the address as written (host bits kept, like Go's types.IPNet). */
export interface Cidr extends Ip {
  readonly prefix: number;
  /**
   * Written in IPv6 notation. Only matters for an IPv4-mapped address ("::ffff:10.0.0.0/120"):
   * Go keeps its 128-bit mask. Absent means the notation of its family.
   */
  readonly v6Notation?: boolean;
}

const V4_DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function familyOf(address: string): Family {
  return address.includes(":") ? 6 : 4;
}

export function bits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parses an address as Go's net.ParseIP (no zones, no prefix, no leading zeros in dotted quads). */
export function parseIp(text: string): Ip | undefined {
  if (V4_DOTTED.test(text)) {
    // The hot path (every store file name is parsed): plain arithmetic, no object allocation.
    const [a, b, c, d] = text.split(".").map(Number) as [number, number, number, number];
    return { family: 4, addr: BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d) };
  }
  if (!text.includes(":") || /[%/\s]/.test(text) || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  if (text.includes(".") && !V4_DOTTED.test(text.slice(text.lastIndexOf(":") + 1))) return undefined;
  const addr = parseIpv6(text);
  if (addr === undefined) return undefined;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4, as canonicalizeIP/To4 do upstream.
  return addr >> 32n === 0xffffn ? { family: 4, addr: addr & 0xffffffffn } : { family: 6, addr };
}

/** Parses "ip/prefix" as Go's net.ParseCIDR, keeping the address as written; the prefix is required. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ipText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = parseIp(ipText);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const v6Notation = ipText.includes(":");
  const prefix = Number(prefixText);
  if (prefix > (v6Notation ? 128 : 32)) return undefined;
  return { family: ip.family, addr: ip.addr, prefix, v6Notation };
}

/** The prefix length within the address's own family (a mapped address's 128-bit mask seen as 32). */
function familyPrefix(c: Cidr): number {
  return c.family === 4 && c.v6Notation ? Math.max(0, c.prefix - 96) : c.prefix;
}

function mask(family: Family, prefix: number): bigint {
  const total = BigInt(bits(family));
  return ((1n << total) - 1n) ^ ((1n << (total - BigInt(prefix))) - 1n);
}

/** The network of a prefix (host bits cleared). */
export function networkOf(c: Cidr): Cidr {
  return { ...c, addr: c.addr & mask(c.family, familyPrefix(c)) };
}

/** The last address of a prefix (all host bits set). */
export function lastOf(c: Cidr): Ip {
  const hostBits = BigInt(bits(c.family) - familyPrefix(c));
  return { family: c.family, addr: networkOf(c).addr | ((1n << hostBits) - 1n) };
}

/** network address + 1: the gateway the bridge plugin picks when IPAM gives none. */
export function firstHost(c: Cidr): Cidr {
  return { ...c, addr: networkOf(c).addr + 1n };
}

export function inCidr(c: Cidr, ip: Ip): boolean {
  return ip.family === c.family && (ip.addr & mask(ip.family, familyPrefix(c))) === networkOf(c).addr;
}

/** True when the two prefixes share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const m = mask(a.family, Math.min(familyPrefix(a), familyPrefix(b)));
  return (a.addr & m) === (b.addr & m);
}

export function equal(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.addr === b.addr;
}

/** Go's ip.NextIP: wraps around at the top of the family. */
export function next(ip: Ip): Ip {
  const max = (1n << BigInt(bits(ip.family))) - 1n;
  return { family: ip.family, addr: ip.addr === max ? 0n : ip.addr + 1n };
}

/** Go's net.IP.String(): dotted quad, or RFC 5952 lowercase with the first longest zero run compressed. */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => Number((ip.addr >> s) & 255n)).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.addr >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Go's IPNet.String() for a parsed CIDR: the address as written, then the prefix. */
export function formatCidr(c: Cidr): string {
  return withPrefix(c, c.prefix);
}

export function withPrefix(ip: Ip, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

/** Canonical text of an address or prefix (as Go prints it), or the input if unparsable. */
export function canonical(text: string): string {
  if (text.includes("/")) {
    const c = parseCidr(text);
    return c ? formatCidr(c) : text;
  }
  const ip = parseIp(text);
  return ip ? formatIp(ip) : text;
}
