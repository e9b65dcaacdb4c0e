import * as z from "zod/mini";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { matchGoKeys } from "../../shared/cni/go-keys.js";
import { goJson, sortKeysDeep } from "../../shared/cni/json.js";
import { isPlainObject } from "../../shared/sys/plain-object.js";
import type { FlannelConfig } from "./config.js";
import { formatCidr, formatIp, parseCidr, parseIp } from "../../shared/net/ip.js";
import type { CompleteSubnetEnv } from "./subnet-env.js";

/** A delegate config as a JSON object; `ipam.routes` holds GoRoute objects in Go's field order. */
export type DelegateConfig = Record<string, unknown>;

/** A route as Go's types.Route marshals it: struct field order, zero values omitted. */
export interface GoRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

const int = z.int();
const RouteSchema = z.object({
  dst: z.string(),
  gw: z.optional(z.nullable(z.string())),
  mtu: z.optional(z.nullable(int)),
  advmss: z.optional(z.nullable(int)),
  priority: z.optional(z.nullable(int)),
  table: z.optional(z.nullable(int)),
  scope: z.optional(z.nullable(int)),
});
const RoutesSchema = z.nullable(z.array(RouteSchema));

function routesError(msg: string): CniError {
  return new CniError(
    ErrorCode.InvalidNetworkConfig,
    `failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: ${msg}`,
  );
}

/** The user's ipam.routes, decoded as Go decodes []types.Route (keys matched as Go does, unknown keys dropped, addresses normalized). */
export function parseUserRoutes(value: unknown): GoRoute[] {
  if (value === undefined) return [];
  const parsed = RoutesSchema.safeParse(matchGoKeys(RoutesSchema, value));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw routesError(`${issue?.path.join(".") || "routes"}: ${issue?.message ?? "invalid"}`);
  }
  return (parsed.data ?? []).map((r) => {
    // types.ParseCIDR keeps the address as written (unmasked).
    const dst = parseCidr(r.dst);
    if (!dst) throw routesError(`invalid CIDR address: ${r.dst}`);
    const route: GoRoute = { dst: formatCidr(dst) };
    if (r.gw) {
      const gw = parseIp(r.gw);
      if (!gw) throw routesError(`invalid IP address: ${r.gw}`);
      route.gw = formatIp(gw);
    }
    if (r.mtu) route.mtu = r.mtu;
    if (r.advmss) route.advmss = r.advmss;
    if (r.priority) route.priority = r.priority;
    if (r.table !== undefined && r.table !== null) route.table = r.table;
    if (r.scope !== undefined && r.scope !== null) route.scope = r.scope;
    return route;
  });
}

/** The delegate's top level without ipam: the user's delegate plus flannel's defaults (upstream's order of rules). */
function delegateBase(conf: FlannelConfig, mtu: number | undefined, ipMasq: boolean | undefined): DelegateConfig {
  const d: DelegateConfig = { ...conf.delegate };
  if (conf.runtimeConfig) d.runtimeConfig = conf.runtimeConfig;
  d.name = conf.name;
  if (!("type" in d)) d.type = "bridge";
  if (!("ipMasq" in d) && ipMasq !== undefined) d.ipMasq = ipMasq;
  if (!("mtu" in d) && mtu !== undefined) d.mtu = mtu;
  if (d.type === "bridge" && !("isGateway" in d)) d.isGateway = true;
  if (conf.cniVersion !== "") d.cniVersion = conf.cniVersion;
  return d;
}

function ipamBase(conf: FlannelConfig): Record<string, unknown> {
  const ipam = { ...conf.ipam };
  if (!("type" in ipam)) ipam.type = "host-local";
  return ipam;
}

/**
 * The config flannel hands to its delegate, built exactly as flannel-io/cni-plugin builds it:
 * delegate defaults, one host-local range set per family (IPv4 first), routes to every cluster network.
 */
export function buildDelegateConfig(conf: FlannelConfig, env: CompleteSubnetEnv): DelegateConfig {
  const d = delegateBase(conf, env.mtu, !env.ipMasq);
  const ipam = ipamBase(conf);
  const ranges: Array<Array<{ subnet: string }>> = [];
  if (env.subnet) ranges.push([{ subnet: env.subnet }]);
  if (env.ipv6Subnet) ranges.push([{ subnet: env.ipv6Subnet }]);
  ipam.ranges = ranges;
  const routes = parseUserRoutes(conf.ipam.routes);
  for (const dst of [...env.networks, ...env.ipv6Networks]) routes.push({ dst });
  ipam.routes = routes;
  d.ipam = ipam;
  return d;
}

/**
 * host-local releases by container ID and interface across its whole store, whatever the range;
 * it only refuses a config without one ("no IP ranges specified"). A documentation prefix
 * (RFC 5737 TEST-NET-1) satisfies it without pointing at any real network.
 */
const RELEASE_ONLY_RANGE = "192.0.2.0/24";

/**
 * When neither the saved config nor subnet.env is available, what is enough to release an
 * attachment: the network name (host-local's store directory), the IPAM type and its dataDir,
 * the delegate's own keys, and ipMasq on so that masquerade rules are torn down if present.
 */
export function buildReleaseConfig(conf: FlannelConfig): DelegateConfig {
  const d = delegateBase(conf, undefined, true);
  const ipam = ipamBase(conf);
  delete ipam.routes;
  if (ipam.type === "host-local") ipam.ranges = [[{ subnet: RELEASE_ONLY_RANGE }]];
  else delete ipam.ranges;
  d.ipam = ipam;
  return d;
}

/** Go's json.Marshal of the delegate map: compact, keys sorted at every level, routes in struct order. */
export function delegateBytes(config: DelegateConfig): Buffer {
  const sorted = sortKeysDeep(config) as DelegateConfig;
  const ipam = config.ipam;
  if (isPlainObject(ipam) && Array.isArray(ipam.routes) && isPlainObject(sorted.ipam)) {
    sorted.ipam.routes = ipam.routes;
  }
  return Buffer.from(goJson(sorted));
}
