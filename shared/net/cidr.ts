/**
 * IPv4/IPv6 prefixes as BigInt arithmetic: masking, +1, containment, overlap, on top of
 * host-local's Go-compatible parser and printer. Pure; used by bridge (gateways, bridge address
 * rules) and firewall rule text.
 */
import { formatIp as goFormatIp, parseIp as goParseIp } from "./go-ip.js";

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The address as written (host bits kept), as a number. */
  addr: bigint;
  prefix: number;
}

const V4_BITS = 32;
const V6_BITS = 128;

export function familyOf(address: string): Family {
  return address.includes(":") ? 6 : 4;
}

function bitsOf(family: Family): number {
  return family === 4 ? V4_BITS : V6_BITS;
}

/** Go's net.ParseIP (host-local's parser, so every plugin reads addresses alike). */
export function parseIp(text: string): { family: Family; addr: bigint } | undefined {
  const ip = goParseIp(text);
  return ip ? { family: ip.v6 ? 6 : 4, addr: ip.n } : undefined;
}

/** Parses "addr/prefix" (the prefix is required). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bitsOf(ip.family)) return undefined;
  return { family: ip.family, addr: ip.addr, prefix };
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Go's net.IP.String(). */
export function formatIp(family: Family, addr: bigint): string {
  return goFormatIp({ v6: family === 6, n: addr });
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.addr)}/${c.prefix}`;
}

/** The network of a prefix (host bits cleared). */
export function networkOf(c: Cidr): Cidr {
  return { family: c.family, addr: c.addr & mask(c.family, c.prefix), prefix: c.prefix };
}

/** network address + 1: the gateway the bridge plugin picks when IPAM gives none. */
export function firstHost(c: Cidr): Cidr {
  return { family: c.family, addr: networkOf(c).addr + 1n, prefix: c.prefix };
}

export function containsIp(net: Cidr, family: Family, addr: bigint): boolean {
  return net.family === family && (addr & mask(family, net.prefix)) === networkOf(net).addr;
}

/** True when the two prefixes share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  const m = mask(a.family, p);
  return (a.addr & m) === (b.addr & m);
}

export function sameIp(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return !!x && !!y && x.family === y.family && x.addr === y.addr;
}

/** Canonical text of an address or prefix (as Go prints it), or the input if unparsable. */
export function canonical(text: string): string {
  if (text.includes("/")) {
    const c = parseCidr(text);
    return c ? formatCidr(c) : text;
  }
  const ip = parseIp(text);
  return ip ? formatIp(ip.family, ip.addr) : text;
}
