import * as z from "zod/mini";
import { CniError, ErrorCode } from "./errors.js";
import { compact, goJson, sortKeysDeep } from "./json.js";
import { isPlainObject } from "../sys/plain-object.js";
import { matchGoKeys } from "./go-keys.js";
import { resultShapeOf } from "./versions.js";
import { parseCidr, parseIp } from "../net/ip.js";

export const DnsSchema = z.object({
  nameservers: z.optional(z.array(z.string())),
  domain: z.optional(z.string()),
  search: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
});

/**
 * The schemas of the result versions, each built on first use and only for the version read: a
 * plugin that never reads a foreign result (VERSION, most DELs) does not pay for them, and one
 * that reads a 1.0.0 prevResult does not build the 0.2.0 and 0.4.0 shapes.
 */
function buildCommon() {
  // Go's net.ParseCIDR / net.ParseIP, as libcni applies them when it reads a result.
  const Cidr = z
    .string()
    .check(z.refine((s) => parseCidr(s) !== undefined, "must be an address with prefix length, such as 10.1.2.3/24"));
  const Ip = z.string().check(z.refine((s) => parseIp(s) !== undefined, "must be an IP address"));
  const InterfaceSchema = z.object({
    name: z.string(),
    mac: z.optional(z.string()),
    mtu: z.optional(z.number()),
    sandbox: z.optional(z.string()),
    socketPath: z.optional(z.string()),
    pciID: z.optional(z.string()),
  });
  const IpSchema = z.object({
    address: Cidr,
    gateway: z.optional(Ip),
    interface: z.optional(z.number()),
  });
  const RouteSchema = z.object({
    dst: Cidr,
    gw: z.optional(Ip),
    mtu: z.optional(z.number()),
    advmss: z.optional(z.number()),
    priority: z.optional(z.number()),
    table: z.optional(z.number()),
    scope: z.optional(z.number()),
  });
  return { Cidr, Ip, InterfaceSchema, IpSchema, RouteSchema };
}
type Common = ReturnType<typeof buildCommon>;
let common: Common | undefined;
const commonSchemas = (): Common => (common ??= buildCommon());

function build100(c: Common) {
  return z.object({
    cniVersion: z.optional(z.string()),
    interfaces: z.optional(z.nullable(z.array(c.InterfaceSchema))),
    ips: z.optional(z.nullable(z.array(c.IpSchema))),
    routes: z.optional(z.nullable(z.array(c.RouteSchema))),
    dns: z.optional(z.nullable(DnsSchema)),
  });
}

function build040(c: Common) {
  const Ip040Schema = z.object({
    version: z.optional(z.string()),
    address: c.Cidr,
    gateway: z.optional(c.Ip),
    interface: z.optional(z.nullable(z.number())),
  });
  return z.object({
    cniVersion: z.optional(z.string()),
    interfaces: z.optional(z.nullable(z.array(c.InterfaceSchema))),
    ips: z.optional(z.nullable(z.array(Ip040Schema))),
    routes: z.optional(z.nullable(z.array(c.RouteSchema))),
    dns: z.optional(z.nullable(DnsSchema)),
  });
}

function build020(c: Common) {
  const Route020Schema = z.object({ dst: c.Cidr, gw: z.optional(c.Ip) });
  const IpConfig020Schema = z.object({
    ip: c.Cidr,
    gateway: z.optional(c.Ip),
    routes: z.optional(z.nullable(z.array(Route020Schema))),
  });
  return z.object({
    cniVersion: z.optional(z.string()),
    ip4: z.optional(z.nullable(IpConfig020Schema)),
    ip6: z.optional(z.nullable(IpConfig020Schema)),
    dns: z.optional(z.nullable(DnsSchema)),
  });
}

let schema100: ReturnType<typeof build100> | undefined;
let schema040: ReturnType<typeof build040> | undefined;
let schema020: ReturnType<typeof build020> | undefined;
type Schemas = Common;

/** One internal result type (the 1.1.0 shape); every version is printed from it. */
export type Interface = z.infer<Schemas["InterfaceSchema"]>;
export type IpConfig = z.infer<Schemas["IpSchema"]>;
export type Route = z.infer<Schemas["RouteSchema"]>;
export type Dns = z.infer<typeof DnsSchema>;
export interface Result {
  cniVersion: string;
  interfaces: Interface[];
  ips: IpConfig[];
  routes: Route[];
  dns: Dns;
}

export function emptyResult(cniVersion: string): Result {
  return { cniVersion, interfaces: [], ips: [], routes: [], dns: {} };
}

export function isIpv6(addressOrCidr: string): boolean {
  return addressOrCidr.includes(":");
}

function invalid(what: string, issue: string): CniError {
  return new CniError(ErrorCode.DecodingFailure, `failed to parse ${what}: ${issue}`);
}

/**
 * Reads a result of any version (a plugin's stdout, a prevResult, a cached result).
 * A result without cniVersion is taken to be in `fallbackVersion`, as libcni does.
 */
export function parseResult(raw: unknown, fallbackVersion: string, what = "result"): Result {
  if (!isPlainObject(raw)) throw invalid(what, "not a JSON object");
  const version = typeof raw.cniVersion === "string" && raw.cniVersion !== "" ? raw.cniVersion : fallbackVersion;
  const shape = resultShapeOf(version);
  if (shape === "020") {
    const schema = (schema020 ??= build020(commonSchemas()));
    const parsed = schema.safeParse(matchGoKeys(schema, raw));
    if (!parsed.success) throw invalid(what, z.prettifyError(parsed.error));
    const r = emptyResult(version);
    for (const cfg of [parsed.data.ip4, parsed.data.ip6]) {
      if (!cfg) continue;
      r.ips.push(compact({ address: cfg.ip, gateway: cfg.gateway }));
      for (const route of cfg.routes ?? []) r.routes.push(compact({ dst: route.dst, gw: route.gw }));
    }
    r.dns = parsed.data.dns ?? {};
    return r;
  }
  const schema =
    shape === "040" ? (schema040 ??= build040(commonSchemas())) : (schema100 ??= build100(commonSchemas()));
  const parsed = schema.safeParse(matchGoKeys(schema, raw));
  if (!parsed.success) throw invalid(what, z.prettifyError(parsed.error));
  const data = parsed.data;
  return {
    cniVersion: version,
    interfaces: (data.interfaces ?? []).map((i) => ({ ...i })),
    ips: (data.ips ?? []).map((ip) =>
      compact({ address: ip.address, gateway: ip.gateway, interface: ip.interface ?? undefined }),
    ),
    routes: (data.routes ?? []).map((r) => ({ ...r })),
    dns: data.dns ?? {},
  };
}

function dnsIsEmpty(dns: Dns): boolean {
  return !dns.nameservers?.length && !dns.domain && !dns.search?.length && !dns.options?.length;
}

function dns040(dns: Dns): Record<string, unknown> {
  return compact({
    nameservers: dns.nameservers?.length ? dns.nameservers : undefined,
    domain: dns.domain || undefined,
    search: dns.search?.length ? dns.search : undefined,
    options: dns.options?.length ? dns.options : undefined,
  });
}

function route040(r: Route): Record<string, unknown> {
  return compact({
    dst: r.dst,
    gw: r.gw || undefined,
    mtu: r.mtu || undefined,
    advmss: r.advmss || undefined,
    priority: r.priority || undefined,
    table: r.table,
    scope: r.scope,
  });
}

/** The result as a JSON value in the shape of `version` (Go's struct order or sorted keys). */
export function resultToJson(result: Result, version: string): Record<string, unknown> {
  const shape = resultShapeOf(version);
  if (shape === "020") {
    const v4 = result.ips.find((ip) => !isIpv6(ip.address));
    const v6 = result.ips.find((ip) => isIpv6(ip.address));
    if (!v4 && !v6) throw new CniError(ErrorCode.Internal, "cannot convert: no valid IP addresses");
    const ipConfig = (ip: IpConfig, six: boolean) => {
      const routes = result.routes
        .filter((r) => isIpv6(r.dst) === six)
        .map((r) => compact({ dst: r.dst, gw: r.gw || undefined }));
      return compact({ ip: ip.address, gateway: ip.gateway || undefined, routes: routes.length ? routes : undefined });
    };
    return compact({
      cniVersion: version,
      ip4: v4 ? ipConfig(v4, false) : undefined,
      ip6: v6 ? ipConfig(v6, true) : undefined,
      dns: dns040(result.dns),
    });
  }
  if (shape === "040") {
    return compact({
      cniVersion: version,
      interfaces: result.interfaces.length
        ? result.interfaces.map((i) =>
            compact({ name: i.name, mac: i.mac || undefined, sandbox: i.sandbox || undefined }),
          )
        : undefined,
      ips: result.ips.length
        ? result.ips.map((ip) =>
            compact({
              version: isIpv6(ip.address) ? "6" : "4",
              interface: ip.interface,
              address: ip.address,
              gateway: ip.gateway || undefined,
            }),
          )
        : undefined,
      routes: result.routes.length ? result.routes.map(route040) : undefined,
      dns: dns040(result.dns),
    });
  }
  const out = compact({
    cniVersion: version,
    interfaces: result.interfaces.length
      ? result.interfaces.map((i) =>
          compact({
            name: i.name,
            mac: i.mac || undefined,
            mtu: i.mtu || undefined,
            sandbox: i.sandbox || undefined,
            socketPath: i.socketPath || undefined,
            pciID: i.pciID || undefined,
          }),
        )
      : undefined,
    ips: result.ips.length
      ? result.ips.map((ip) =>
          compact({ address: ip.address, gateway: ip.gateway || undefined, interface: ip.interface }),
        )
      : undefined,
    routes: result.routes.length ? result.routes.map(route040) : undefined,
    dns: dnsIsEmpty(result.dns) ? undefined : dns040(result.dns),
  });
  return sortKeysDeep(out) as Record<string, unknown>;
}

/** Exactly what a Go plugin prints for this result in `version`: 4-space indent, no trailing newline. */
export function formatResult(result: Result, version: string): string {
  return goJson(resultToJson(result, version), 4);
}
