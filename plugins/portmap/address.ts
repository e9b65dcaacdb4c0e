import { type Family, formatIp, networkOf, parseCidr, parseIp } from "../../shared/net/ip.js";

/** An interface address: canonical IP text, prefix length and the canonical network address. */
export interface IfAddress {
  family: Family;
  ip: string;
  prefix: number;
  network: string;
}

/** The canonical text of an IP (as iptables-save and nft print it), or "" when it is not an IP. */
export function canonicalIp(ip: string): string {
  const parsed = parseIp(ip);
  return parsed ? formatIp(parsed) : "";
}

export function isUnspecified(ip: string): boolean {
  return parseIp(ip)?.addr === 0n;
}

/** Parses "10.0.0.2/24" or "fd00::2/64". */
export function parseIfAddress(cidr: string): IfAddress | undefined {
  const c = parseCidr(cidr);
  if (!c) return undefined;
  return { family: c.family, ip: formatIp(c), prefix: c.prefix, network: formatIp(networkOf(c)) };
}
