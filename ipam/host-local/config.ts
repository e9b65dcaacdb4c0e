import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";
import { matchGoKeys } from "../../shared/cni/go-keys.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { isPlainObject } from "../../shared/sys/plain-object.js";
import type { Route } from "../../shared/cni/result.js";
import { atLeast } from "../../shared/cni/versions.js";
import { type Ip, formatCidr, formatIp, parseCidr, parseIp } from "../../shared/net/ip.js";
import {
  type RangeInput,
  type RangeSet,
  InvalidRangeError,
  RangeSetError,
  canonicalizeRangeSet,
  checkGateway,
  setsOverlap,
} from "./range.js";

export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

/** Everything host-local needs from a network config, validated and canonical. */
export interface IpamConfig {
  /** The network name: the store directory under dataDir. */
  readonly name: string;
  readonly cniVersion: string;
  readonly dataDir: string;
  /** Range sets in upstream's order: runtimeConfig.ipRanges, then the legacy single range, then ipam.ranges. */
  readonly rangeSets: readonly RangeSet[];
  readonly routes: readonly Route[];
  readonly resolvConf: string | undefined;
  /** Requested addresses in upstream's order (CNI_ARGS, args.cni.ips, runtimeConfig.ips), deduplicated. */
  readonly requested: readonly Ip[];
}

const OptionalString = z.optional(z.nullable(z.string()));
const RangeSchema = z.looseObject({
  subnet: z.string(),
  rangeStart: OptionalString,
  rangeEnd: OptionalString,
  gateway: OptionalString,
});
const OptionalNumber = z.optional(z.nullable(z.number()));
const RouteSchema = z.looseObject({
  dst: z.string(),
  gw: OptionalString,
  mtu: OptionalNumber,
  advmss: OptionalNumber,
  priority: OptionalNumber,
  table: OptionalNumber,
  scope: OptionalNumber,
});
const RangeSetsSchema = z.optional(z.nullable(z.array(z.array(RangeSchema))));
const IpamSchema = z.looseObject({
  type: OptionalString,
  subnet: OptionalString,
  rangeStart: OptionalString,
  rangeEnd: OptionalString,
  gateway: OptionalString,
  routes: z.optional(z.nullable(z.array(RouteSchema))),
  dataDir: OptionalString,
  resolvConf: OptionalString,
  ranges: RangeSetsSchema,
});
const RuntimeSchema = z.looseObject({
  ipRanges: RangeSetsSchema,
  ips: z.optional(z.nullable(z.array(z.string()))),
});
const ArgsSchema = z.looseObject({
  cni: z.optional(z.nullable(z.looseObject({ ips: z.optional(z.nullable(z.array(z.string()))) }))),
});

type RawRange = z.infer<typeof RangeSchema>;
type RawRoute = z.infer<typeof RouteSchema>;

/** The fields host-local reads from the whole network config (upstream's Net). */
const NetSchema = z.looseObject({
  name: z.unknown(),
  cniVersion: z.unknown(),
  ipam: IpamSchema,
  runtimeConfig: RuntimeSchema,
  args: ArgsSchema,
});

/** The network config with every key host-local reads matched as Go matches it (go-keys.ts). */
function netFields(raw: Record<string, unknown>): Record<string, unknown> {
  return matchGoKeys(NetSchema, raw) as Record<string, unknown>;
}

function invalid(msg: string, details = ""): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

function ipField(value: string | null | undefined, field: string): Ip | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const ip = parseIp(value);
  if (!ip) throw invalid(`invalid IP address: ${value} (${field})`, "write a plain IPv4 or IPv6 address");
  return ip;
}

function rangeInput(raw: RawRange, field: string): RangeInput {
  const subnet = parseCidr(raw.subnet);
  if (!subnet) {
    throw invalid(
      `invalid CIDR address: ${raw.subnet} (${field}.subnet)`,
      "write the subnet as address/prefix, e.g. 10.244.1.0/24",
    );
  }
  return {
    subnet,
    rangeStart: ipField(raw.rangeStart, `${field}.rangeStart`),
    rangeEnd: ipField(raw.rangeEnd, `${field}.rangeEnd`),
    gateway: ipField(raw.gateway, `${field}.gateway`),
  };
}

function route(raw: RawRoute, field: string): Route {
  const dst = parseCidr(raw.dst);
  if (!dst) throw invalid(`invalid CIDR address: ${raw.dst} (${field}.dst)`, "write the destination as address/prefix");
  const gw = ipField(raw.gw, `${field}.gw`);
  const out: Route = { dst: formatCidr(dst) };
  if (gw) out.gw = formatIp(gw);
  for (const key of ["mtu", "advmss", "priority", "table", "scope"] as const) {
    const v = raw[key];
    if (typeof v === "number") out[key] = v;
  }
  return out;
}

/** Where each range set came from, so errors can name the config key. */
interface SetSource {
  field: string;
  ranges: readonly RawRange[];
}

function rangeSets(sources: readonly SetSource[], cniVersion: string): RangeSet[] {
  if (sources.length === 0) {
    throw invalid("no IP ranges specified", 'set ipam.ranges (e.g. [[{"subnet": "10.244.1.0/24"}]]) or ipam.subnet');
  }
  const sets = sources.map((src, i) => {
    const inputs = src.ranges.map((r, j) => rangeInput(r, `${src.field}[${j}]`));
    try {
      return canonicalizeRangeSet(inputs);
    } catch (e) {
      if (!(e instanceof RangeSetError)) throw e;
      const where = e.index === undefined ? src.field : `${src.field}[${e.index}]${e.field ? `.${e.field}` : ""}`;
      throw invalid(`invalid range set ${i}: ${e.message} (${where})`);
    }
  });
  const v4 = sets.filter((s) => s[0]!.start.family === 4).length;
  if ((v4 > 1 || sets.length - v4 > 1) && !atLeast(cniVersion || "0.1.0", "0.3.0")) {
    throw invalid(
      `CNI version ${cniVersion} does not support more than 1 address per family`,
      "raise cniVersion to 0.3.0 or later, or configure one range set per family",
    );
  }
  for (let i = 0; i < sets.length - 1; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      if (setsOverlap(sets[i]!, sets[j]!)) {
        throw invalid(
          `range set ${i} overlaps with ${j}`,
          `${sources[i]!.field} and ${sources[j]!.field} share addresses`,
        );
      }
    }
  }
  sets.forEach((set, i) =>
    set.forEach((r, j) => {
      try {
        checkGateway(r);
      } catch (e) {
        if (e instanceof InvalidRangeError)
          throw invalid(`invalid range set ${i}: ${e.message} (${sources[i]!.field}[${j}].gateway)`);
        throw e;
      }
    }),
  );
  return sets;
}

function requestedIps(envIp: string | undefined, argsIps: readonly string[], runtimeIps: readonly string[]): Ip[] {
  const out = new Map<string, Ip>();
  const add = (ip: Ip) => out.set(formatIp(ip), ip);
  if (envIp !== undefined && envIp !== "") {
    for (const item of envIp.split(",")) {
      const ip = parseIp(item.trim());
      if (!ip) throw invalid(`cannot understand ip: invalid IP address: ${item.trim()} (CNI_ARGS IP)`);
      add(ip);
    }
  }
  argsIps.forEach((s, i) => {
    const ip = parseIp(s);
    if (!ip) throw invalid(`cannot understand ip: invalid IP address: ${s} (args.cni.ips[${i}])`);
    add(ip);
  });
  runtimeIps.forEach((s, i) => {
    const ip = parseIp(s) ?? parseCidr(s);
    if (!ip) throw invalid(`cannot understand ip: invalid IP address: ${s} (runtimeConfig.ips[${i}])`);
    add(ip);
  });
  return [...out.values()];
}

/**
 * Reads host-local's configuration from the whole network config (host-local receives its
 * parent's config) and the CNI_ARGS "IP" key, as upstream's LoadIPAMConfig does.
 */
export function loadIpamConfig(raw: Record<string, unknown>, cniArgs: ReadonlyMap<string, string>): IpamConfig {
  const top = netFields(raw);
  if (top.ipam === undefined || top.ipam === null) {
    throw invalid("IPAM config missing 'ipam' key", 'add an "ipam" object with "type": "host-local" and its ranges');
  }
  const ipam = parseWith(IpamSchema, top.ipam, "ipam config");
  const runtime = parseWith(RuntimeSchema, top.runtimeConfig ?? {}, "runtimeConfig");
  const args = parseWith(ArgsSchema, top.args ?? {}, "args");
  const name = String(top.name ?? "");
  const cniVersion = typeof top.cniVersion === "string" ? top.cniVersion : "";

  const sources: SetSource[] = [];
  (runtime.ipRanges ?? []).forEach((set, i) => sources.push({ field: `runtimeConfig.ipRanges[${i}]`, ranges: set }));
  if (ipam.subnet) {
    sources.push({
      field: "ipam",
      ranges: [{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }],
    });
  }
  (ipam.ranges ?? []).forEach((set, i) => sources.push({ field: `ipam.ranges[${i}]`, ranges: set }));

  const requested = requestedIps(cniArgs.get("IP"), args.cni?.ips ?? [], runtime.ips ?? []);
  return {
    name,
    cniVersion,
    dataDir: ipam.dataDir || DEFAULT_DATA_DIR,
    rangeSets: rangeSets(sources, cniVersion),
    routes: (ipam.routes ?? []).map((r, i) => route(r, `ipam.routes[${i}]`)),
    resolvConf: ipam.resolvConf || undefined,
    requested,
  };
}

/** What DEL needs even when the ranges are invalid: the store location. */
export function loadStoreLocation(raw: Record<string, unknown>): { name: string; dataDir: string } {
  const top = netFields(raw);
  const ipam = top.ipam;
  // Without an ipam object there is no store to act on: never fall back to the default dataDir.
  if (!isPlainObject(ipam))
    throw invalid("IPAM config missing 'ipam' key", 'add an "ipam" object with "type": "host-local"');
  // A dataDir of the wrong type must not send DEL to the default store of the node.
  if (ipam.dataDir !== undefined && ipam.dataDir !== null && typeof ipam.dataDir !== "string") {
    throw invalid("invalid ipam.dataDir: expected a string path", "set ipam.dataDir to a directory path or remove it");
  }
  const dataDir = typeof ipam.dataDir === "string" && ipam.dataDir ? ipam.dataDir : DEFAULT_DATA_DIR;
  return { name: String(top.name ?? ""), dataDir };
}
