import { parseIpv6 } from "./ipv6-text.js";

/**
 * An IP address as Go's net package sees it (host-local's file names, comparisons): a family and a number. IPv4-mapped IPv6 addresses are
 * IPv4 (Go's To4() makes them so), which decides file names and comparisons.
 */
export interface Ip {
  readonly v6: boolean;
  readonly n: bigint;
}

export interface Cidr {
  /** The address as written (host bits kept, like Go's types.IPNet). */
  readonly ip: Ip;
  readonly prefix: number;
  /** True when written in IPv6 notation: an IPv4-mapped address with a 128-bit mask stays v6-sized. */
  readonly v6Notation: boolean;
}

const V4_DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function bits(ip: Ip): number {
  return ip.v6 ? 128 : 32;
}

/** Parses an address as Go's net.ParseIP (no zones, no prefix, no leading zeros in dotted quads). */
export function parseIp(text: string): Ip | undefined {
  if (V4_DOTTED.test(text)) {
    // The hot path (every store file name is parsed): plain arithmetic, no object allocation.
    const [a, b, c, d] = text.split(".").map(Number) as [number, number, number, number];
    return { v6: false, n: BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d) };
  }
  if (!text.includes(":") || /[%/\s]/.test(text) || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  if (text.includes(".") && !V4_DOTTED.test(text.slice(text.lastIndexOf(":") + 1))) return undefined;
  const n = parseIpv6(text);
  return n === undefined ? undefined : canonical({ v6: true, n });
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4, as canonicalizeIP/To4 do upstream. */
export function canonical(ip: Ip): Ip {
  if (ip.v6 && ip.n >> 32n === 0xffffn) return { v6: false, n: ip.n & 0xffffffffn };
  return ip;
}

/** Parses "ip/prefix" as Go's net.ParseCIDR, keeping the address as written. */
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
  return { ip, prefix, v6Notation };
}

export function mask(v6: boolean, prefix: number): bigint {
  const total = BigInt(v6 ? 128 : 32);
  return ((1n << total) - 1n) ^ ((1n << (total - BigInt(prefix))) - 1n);
}

export function networkOf(c: Cidr): Ip {
  return { v6: c.ip.v6, n: c.ip.n & mask(c.ip.v6, c.prefix) };
}

export function lastOf(c: Cidr): Ip {
  const total = BigInt(bits(c.ip));
  return { v6: c.ip.v6, n: networkOf(c).n | ((1n << (total - BigInt(c.prefix))) - 1n) };
}

export function inCidr(c: Cidr, ip: Ip): boolean {
  return ip.v6 === c.ip.v6 && (ip.n & mask(ip.v6, c.prefix)) === networkOf(c).n;
}

export function equal(a: Ip, b: Ip): boolean {
  return a.v6 === b.v6 && a.n === b.n;
}

/** Go's ip.NextIP: wraps around at the top of the family. */
export function next(ip: Ip): Ip {
  const max = (1n << BigInt(bits(ip))) - 1n;
  return { v6: ip.v6, n: ip.n === max ? 0n : ip.n + 1n };
}

/** Go's net.IP.String(): dotted quad, or RFC 5952 lowercase with the first longest zero run compressed. */
export function formatIp(ip: Ip): string {
  if (!ip.v6) return [24n, 16n, 8n, 0n].map((s) => Number((ip.n >> s) & 255n)).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.n >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
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
  return `${formatIp(c.ip)}/${c.prefix}`;
}

export function withPrefix(ip: Ip, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}
