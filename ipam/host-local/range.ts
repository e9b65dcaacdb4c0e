import {
  type Cidr,
  type Ip,
  equal,
  formatCidr,
  formatIp,
  inCidr,
  lastOf,
  networkOf,
  next,
} from "../../shared/net/ip.js";

/** One canonical range: every field filled in with upstream's defaults. */
export interface Range {
  readonly subnet: Cidr;
  readonly start: Ip;
  readonly end: Ip;
  readonly gateway: Ip;
}

/** A range as configured (already parsed from strings; the config layer reports syntax errors). */
export interface RangeInput {
  subnet: Cidr;
  rangeStart?: Ip | undefined;
  rangeEnd?: Ip | undefined;
  gateway?: Ip | undefined;
}

/** A range set: the pool one address per ADD is taken from (one family). */
export type RangeSet = readonly Range[];

export class InvalidRangeError extends Error {
  constructor(
    message: string,
    /** The config key the error is about (rangeStart, rangeEnd, gateway, subnet). */
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * Fills in defaults and checks one range the way upstream's Range.Canonicalize does, with its
 * messages. Defaults follow the code, not the docs: rangeStart = subnet+1 (the gateway is skipped
 * by the iterator), rangeEnd = broadcast-1 for IPv4 and the all-ones address for IPv6.
 */
export function canonicalizeRange(input: RangeInput): Range {
  const { subnet } = input;
  const width = (subnet.v6Notation ?? subnet.family === 6) ? 128 : 32;
  if (subnet.prefix > width - 2) {
    throw new InvalidRangeError(`Network ${formatCidr(subnet)} too small to allocate from`, "subnet");
  }
  if ((subnet.family === 6) !== (width === 128))
    throw new InvalidRangeError("IPNet IP and Mask version mismatch", "subnet");
  const network = networkOf(subnet);
  if (!equal(network, subnet)) {
    throw new InvalidRangeError(
      `Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIp(network)}`,
      "subnet",
    );
  }
  const first = next(network);
  const gateway = input.gateway ?? first;
  const start = input.rangeStart ?? first;
  if (!inCidr(subnet, start)) {
    throw new InvalidRangeError(`RangeStart ${formatIp(start)} not in network ${formatCidr(subnet)}`, "rangeStart");
  }
  // Upstream tests rangeStart against the configured rangeEnd too, and reports it first.
  if (input.rangeStart && input.rangeEnd && inCidr(subnet, input.rangeEnd) && input.rangeEnd.addr < start.addr) {
    throw new InvalidRangeError(
      `RangeStart ${formatIp(start)} not in network ${formatCidr(subnet)}: it is after RangeEnd ${formatIp(input.rangeEnd)}`,
      "rangeStart",
    );
  }
  let end: Ip;
  if (input.rangeEnd) {
    end = input.rangeEnd;
    if (!inCidr(subnet, end)) {
      throw new InvalidRangeError(`RangeEnd ${formatIp(end)} not in network ${formatCidr(subnet)}`, "rangeEnd");
    }
    if (end.addr < start.addr) {
      throw new InvalidRangeError(
        `RangeEnd ${formatIp(end)} not in network ${formatCidr(subnet)}: it is before RangeStart ${formatIp(start)}`,
        "rangeEnd",
      );
    }
  } else {
    const last = lastOf(subnet);
    end = subnet.family === 6 ? last : { family: 4, addr: last.addr - 1n };
  }
  return { subnet, start, end, gateway };
}

const V6_LINK_LOCAL: Cidr = { family: 6, addr: 0xfe80n << 112n, prefix: 10 };

function isV6LinkLocal(ip: Ip): boolean {
  return inCidr(V6_LINK_LOCAL, ip);
}

/** A gateway outside its subnet is a typo, except an IPv6 link-local router address (docs/parity.md#host-local). */
export function checkGateway(r: Range): void {
  if (!inCidr(r.subnet, r.gateway) && !isV6LinkLocal(r.gateway)) {
    throw new InvalidRangeError(`Gateway ${formatIp(r.gateway)} not in network ${formatCidr(r.subnet)}`, "gateway");
  }
}

export function rangeContains(r: Range, ip: Ip): boolean {
  return ip.family === r.subnet.family && inCidr(r.subnet, ip) && ip.addr >= r.start.addr && ip.addr <= r.end.addr;
}

export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.subnet.family !== b.subnet.family) return false;
  return rangeContains(a, b.start) || rangeContains(a, b.end) || rangeContains(b, a.start) || rangeContains(b, a.end);
}

export function rangeToString(r: Range): string {
  return `${formatIp(r.start)}-${formatIp(r.end)}`;
}

/** Checks a set as RangeSet.Canonicalize: not empty, one family, no overlaps. */
export function canonicalizeRangeSet(inputs: readonly RangeInput[]): Range[] {
  if (inputs.length === 0) throw new RangeSetError("empty range set");
  const out: Range[] = [];
  for (const [i, input] of inputs.entries()) {
    try {
      out.push(canonicalizeRange(input));
    } catch (e) {
      if (e instanceof InvalidRangeError) throw new RangeSetError(e.message, i, e.field);
      throw e;
    }
    if (i > 0 && out[i]!.start.family !== out[0]!.start.family)
      throw new RangeSetError("mixed address families", i, "subnet");
  }
  for (let i = 0; i < out.length - 1; i++) {
    for (let j = i + 1; j < out.length; j++) {
      if (rangesOverlap(out[i]!, out[j]!)) {
        throw new RangeSetError(`subnets ${rangeToString(out[i]!)} and ${rangeToString(out[j]!)} overlap`, j, "subnet");
      }
    }
  }
  return out;
}

export class RangeSetError extends Error {
  constructor(
    message: string,
    readonly index?: number,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function setContains(set: RangeSet, ip: Ip): boolean {
  return set.some((r) => rangeContains(r, ip));
}

export function rangeFor(set: RangeSet, ip: Ip): Range | undefined {
  return set.find((r) => rangeContains(r, ip));
}

export function setsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r1) => b.some((r2) => rangesOverlap(r1, r2)));
}

export function setToString(set: RangeSet): string {
  return set.map(rangeToString).join(",");
}

export function isV6Set(set: RangeSet): boolean {
  return set[0]!.start.family === 6;
}

/** How many addresses a set spans (gateways included), for STATUS messages. */
export function setSize(set: RangeSet): bigint {
  return set.reduce((sum, r) => sum + (r.end.addr - r.start.addr + 1n), 0n);
}
