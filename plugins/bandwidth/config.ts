/**
 * bandwidth's configuration: the static fields (ingressRate, ingressBurst, egressRate,
 * egressBurst, shapedSubnets, unshapedSubnets) and runtimeConfig.bandwidth, which the runtime
 * fills from the pod's kubernetes.io/ingress-bandwidth and egress-bandwidth annotations.
 * Rates are bits per second, bursts bits, as upstream.
 */
import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";

/** One direction's token bucket, in the units the runtime speaks. */
export interface Limit {
  rateBits: number;
  burstBits: number;
}

/** shapedSubnets (only traffic with these shaped) or unshapedSubnets (all but these shaped). */
export interface Subnets {
  cidrs: string[];
  only: boolean;
}

export interface BandwidthConf {
  /** Shaping of traffic towards the pod (a tbf on the host side of its veth). */
  ingress?: Limit;
  /** Shaping of traffic from the pod (its veth's ingress redirected to an ifb with a tbf). */
  egress?: Limit;
  /** With subnet lists the shaper is an htb with a capped and an uncapped class (see shaping.ts). */
  subnets?: Subnets;
}

/** uint64 in Go; beyond 2^53 JavaScript cannot hold the value exactly, and no link is that fast. */
const bits = z.optional(
  z.nullable(
    z.number("must be a number of bits (per second)").check(
      z.refine((n) => Number.isSafeInteger(n), "must be a whole number no larger than 9007199254740991"),
      z.gte(0, "must not be negative"),
    ),
  ),
);
const subnets = z.optional(z.nullable(z.array(z.string())));

const EntrySchema = z.looseObject({
  ingressRate: bits,
  ingressBurst: bits,
  egressRate: bits,
  egressBurst: bits,
  shapedSubnets: subnets,
  unshapedSubnets: subnets,
});
type Entry = z.infer<typeof EntrySchema>;
/** Keys match as Go's encoding/json matches them (parseWith): containerd sends "IngressRate". */
const RuntimeSchema = z.looseObject({ bandwidth: z.optional(z.nullable(EntrySchema)) });

/** burst/8 must stay below 2^32-1 bytes: tbf's buffer and limit are 32-bit. */
const MAX_BURST_BYTES = 0xffffffff;

function invalid(msg: string, details: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

function direction(
  rate: number | null | undefined,
  burst: number | null | undefined,
  name: "ingress" | "egress",
): Limit | undefined {
  const r = rate ?? 0;
  const b = burst ?? 0;
  if (b === 0 && r !== 0) {
    throw invalid(
      "if rate is set, burst must also be set",
      `set ${name}Burst (bits) together with ${name}Rate, or neither`,
    );
  }
  if (r === 0 && b !== 0) {
    throw invalid(
      "if burst is set, rate must also be set",
      `set ${name}Rate (bits per second) together with ${name}Burst, or neither`,
    );
  }
  if (Math.floor(b / 8) >= MAX_BURST_BYTES) {
    throw invalid("burst cannot be more than 4GB", `${name}Burst is in bits: use less than ${MAX_BURST_BYTES * 8}`);
  }
  if (r === 0) return undefined;
  // Go divides by rate/8 and burst/8: values below 8 bits make a zero and a tbf the kernel rejects or never drains.
  if (r < 8)
    throw invalid(`${name}Rate ${r} is below 8 bits per second`, `${name}Rate is in bits per second; use at least 8`);
  if (b < 8)
    throw invalid(
      `${name}Burst ${b} is below 8 bits`,
      `${name}Burst is in bits; use at least the interface MTU times 8`,
    );
  return { rateBits: r, burstBits: b };
}

/** Go's net.ParseCIDR, close enough for validation: an address, a slash and a prefix length in range. */
function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const [, addr, len] = m as unknown as [string, string, string];
  const prefix = Number(len);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr))
    return addr.split(".").every((o) => Number(o) <= 255 && !/^0\d/.test(o)) && prefix <= 32;
  return /^[0-9a-fA-F:.]+$/.test(addr) && addr.includes(":") && prefix <= 128;
}

function validateSubnets(e: Entry): Subnets | undefined {
  const shaped = e.shapedSubnets ?? [];
  const unshaped = e.unshapedSubnets ?? [];
  if (shaped.length > 0 && unshaped.length > 0) {
    throw invalid(
      "unshapedSubnets and shapedSubnets cannot be both specified, one of them should be discarded",
      "shapedSubnets lists the only destinations to shape, unshapedSubnets those to leave alone: use one",
    );
  }
  for (const s of [...unshaped, ...shaped]) {
    if (!isCidr(s))
      throw invalid(
        `bad subnet "${s}" provided, details invalid CIDR address: ${s}`,
        "write subnets as CIDRs, e.g. 10.0.0.0/8",
      );
  }
  if (shaped.length > 0) return { cidrs: shaped, only: true };
  if (unshaped.length > 0) return { cidrs: unshaped, only: false };
  return undefined;
}

/**
 * The limits to apply. runtimeConfig.bandwidth (what the runtime derived from the pod's
 * annotations) replaces the static fields when present; upstream prefers the static fields.
 */
export function parseBandwidthConf(raw: Record<string, unknown>, runtimeConfig: unknown): BandwidthConf {
  let e: Entry;
  try {
    const runtime = parseWith(RuntimeSchema, runtimeConfig ?? {}, "runtimeConfig").bandwidth;
    e = runtime ?? parseWith(EntrySchema, raw, "bandwidth config");
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    throw invalid(
      err.message,
      "rates are whole numbers of bits per second, bursts whole numbers of bits, subnets lists of CIDRs",
    );
  }
  const subnets = validateSubnets(e);
  const ingress = direction(e.ingressRate, e.ingressBurst, "ingress");
  const egress = direction(e.egressRate, e.egressBurst, "egress");
  return { ...(ingress && { ingress }), ...(egress && { egress }), ...(subnets && { subnets }) };
}

export function isZero(c: BandwidthConf): boolean {
  return c.ingress === undefined && c.egress === undefined;
}
