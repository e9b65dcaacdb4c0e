/**
 * IP and CIDR parsing with Go's net.ParseIP / net.ParseCIDR rules and Go's String() output, so the
 * addresses we write into the delegate config are the very strings the Go plugin writes.
 */

export interface ParsedIp {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: number[];
}

export interface ParsedCidr {
  /** The address as written (normalized), like types.ParseCIDR keeps it. */
  ip: ParsedIp;
  prefix: number;
}

function parseIpv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Go rejects leading zeros (ambiguous octal) and more than 3 digits.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIpv6(s: string): number[] | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
      out.push(parseInt(item, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address is only allowed at the very end.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined; // "::" must stand for at least one group
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

export function parseIp(s: string): ParsedIp | undefined {
  if (s.includes(":")) {
    const bytes = parseIpv6(s);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = parseIpv4(s);
  return bytes ? { family: 4, bytes } : undefined;
}

export function parseCidr(s: string): ParsedCidr | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > ip.bytes.length * 8) return undefined;
  return { ip, prefix };
}

/** The network address: the IP with the host bits cleared. */
export function networkOf(c: ParsedCidr): ParsedCidr {
  const bytes = c.ip.bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, c.prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  return { ip: { family: c.ip.family, bytes }, prefix: c.prefix };
}

function isV4Mapped(bytes: number[]): boolean {
  return bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Go's net.IP.String(): dotted quad for IPv4 (also IPv4-mapped IPv6), RFC 5952 for IPv6. */
export function formatIp(ip: ParsedIp): string {
  const b = ip.bytes;
  if (b.length === 4) return b.join(".");
  if (isV4Mapped(b)) return b.slice(12).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of two or more zero groups is written as "::" (the first one on a tie).
  let bestStart = -1;
  let bestLen = 1;
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
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Go's net.IPNet.String() for a CIDR parsed by ParseCIDR (IPv4-mapped /96+ prints as IPv4). */
export function formatCidr(c: ParsedCidr): string {
  if (isV4Mapped(c.ip.bytes) && c.prefix >= 96) return `${formatIp(c.ip)}/${c.prefix - 96}`;
  return `${formatIp(c.ip)}/${c.prefix}`;
}
