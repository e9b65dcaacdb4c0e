import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Result } from "../../shared/cni/result.js";
import { haveBinary } from "../../shared/net/process.js";
import { canonicalIp, type IfAddress, parseIfAddress } from "./address.js";

export type Protocol = "tcp" | "udp" | "sctp";
export type Backend = "iptables" | "nftables";

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /** Canonical host IP, or "" for every local address. */
  hostIP: string;
}

export interface PortmapConf {
  /** Network name (part of the iptables chain hash and comment). */
  name: string;
  snat: boolean;
  masqAll: boolean;
  markMasqBit: number;
  externalSetMarkChain?: string;
  conditionsV4: string[];
  conditionsV6: string[];
  backend: Backend;
  mappings: PortMapping[];
}

const port = (what: string) =>
  z
    .int(`${what} must be an integer`)
    .check(z.gte(1, `${what} must be 1-65535`), z.lte(65535, `${what} must be 1-65535`));

/** One argument of a match condition: one line, no nft statement separators (no injection). */
const conditionArg = z
  .string()
  .check(
    z.refine(
      (s) => !/[\n\r;#]/.test(s) && s.trim() !== "",
      "conditions must be non-empty single arguments without ';', '#' or newlines",
    ),
  );

const PortMappingSchema = z.looseObject({
  hostPort: port("hostPort"),
  containerPort: port("containerPort"),
  protocol: z.optional(
    z
      .string()
      .check(
        z.refine((p) => ["", "tcp", "udp", "sctp"].includes(p.toLowerCase()), "protocol must be tcp, udp or sctp"),
      ),
  ),
  hostIP: z.optional(
    z.string().check(z.refine((ip) => ip === "" || canonicalIp(ip) !== "", "hostIP must be an IP address")),
  ),
});

const PortmapFieldsSchema = z.looseObject({
  snat: z.optional(z.nullable(z.boolean())),
  masqAll: z.optional(z.nullable(z.boolean())),
  markMasqBit: z.optional(z.nullable(z.int().check(z.gte(0, "must be 0-31"), z.lte(31, "must be 0-31")))),
  externalSetMarkChain: z.optional(
    z.nullable(
      z
        .string()
        .check(z.regex(/^[A-Za-z0-9_.:-]{1,28}$/, "must be an iptables chain name (1-28 of A-Z a-z 0-9 _ . : -)")),
    ),
  ),
  conditionsV4: z.optional(z.nullable(z.array(conditionArg))),
  conditionsV6: z.optional(z.nullable(z.array(conditionArg))),
  backend: z.optional(z.nullable(z.enum(["iptables", "nftables", ""]))),
});

const RuntimeConfigSchema = z.looseObject({ portMappings: z.nullish(z.array(PortMappingSchema)) });

/** Reads runtimeConfig.portMappings; containerd's capitalised keys ("HostPort", …) match as in Go. */
export function readPortMappings(runtimeConfig: unknown): PortMapping[] {
  const { portMappings: entries } = parseWith(RuntimeConfigSchema, runtimeConfig ?? {}, "runtimeConfig");
  return (entries ?? []).map((e) => ({
    hostPort: e.hostPort,
    containerPort: e.containerPort,
    protocol: ((e.protocol ?? "").toLowerCase() || "tcp") as Protocol,
    hostIP: e.hostIP ? canonicalIp(e.hostIP) : "",
  }));
}

/** iptables conditions start with an option ("-d", "! -s"); anything else is nft syntax. */
function conditionSyntax(conds: readonly string[]): Backend | undefined {
  const first = conds[0];
  if (first === undefined) return undefined;
  return first.startsWith("-") || first.startsWith("!") ? "iptables" : "nftables";
}

function invalid(msg: string, details: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

/** Which rule tools this node has (files on PATH, no process): the default for parsePortmapConf's `available`. */
export function installedRuleTools(): { iptables: boolean; nftables: boolean } {
  return { iptables: haveBinary("iptables-restore"), nftables: haveBinary("nft") };
}

/**
 * Validates the plugin's own fields. `available` says which rule tools exist on this node; it
 * decides the backend when the config does not (iptables first, as upstream).
 */
export function parsePortmapConf(
  raw: Record<string, unknown>,
  name: string,
  runtimeConfig: unknown,
  available: () => { iptables: boolean; nftables: boolean },
): PortmapConf {
  const f = parseWith(PortmapFieldsSchema, raw, "portmap config");
  if (f.markMasqBit != null && f.externalSetMarkChain != null) {
    throw invalid(
      "Cannot specify externalSetMarkChain and markMasqBit",
      "use one of them: externalSetMarkChain names your own mark chain, markMasqBit picks the bit of ours",
    );
  }
  const conditionsV4 = f.conditionsV4 ?? [];
  const conditionsV6 = f.conditionsV6 ?? [];
  const syntaxes = new Set(
    [conditionSyntax(conditionsV4), conditionSyntax(conditionsV6)].filter((s) => s !== undefined),
  );
  if (syntaxes.size > 1) {
    throw invalid(
      "conditionsV4 and conditionsV6 use different syntaxes",
      'write both as iptables matches ("-d", …) or both as nft expressions',
    );
  }
  const wanted: Backend | undefined =
    f.backend || [...syntaxes][0] || (f.externalSetMarkChain != null ? "iptables" : undefined);
  const mappings = readPortMappings(runtimeConfig);
  let backend: Backend;
  if (wanted) {
    backend = wanted;
  } else if (mappings.length === 0) {
    // Nothing to map writes no rule: no need to look for the tools (most pods, on every call).
    backend = "iptables";
  } else {
    const tools = available();
    backend = !tools.iptables && tools.nftables ? "nftables" : "iptables";
  }
  if (backend === "nftables" && f.externalSetMarkChain != null) {
    throw invalid(
      "externalSetMarkChain is not supported with the nftables backend",
      'remove externalSetMarkChain or set "backend": "iptables"',
    );
  }
  for (const s of syntaxes) {
    if (s !== backend) {
      throw invalid(
        `conditionsV4/conditionsV6 are ${s} syntax but the backend is ${backend}`,
        `write the conditions for ${backend} or set "backend": "${s}"`,
      );
    }
  }
  return {
    name,
    snat: f.snat ?? true,
    masqAll: f.masqAll ?? false,
    markMasqBit: f.markMasqBit ?? 13,
    externalSetMarkChain: f.externalSetMarkChain ?? undefined,
    conditionsV4,
    conditionsV6,
    backend,
    mappings,
  };
}

/**
 * The container's first IPv4 and first IPv6 address from prevResult, skipping addresses whose
 * interface is known and is not CNI_IFNAME inside the sandbox (upstream's rule).
 */
export function containerAddresses(prev: Result, ifname: string): IfAddress[] {
  const out: IfAddress[] = [];
  for (const ip of prev.ips) {
    const addr = parseIfAddress(ip.address);
    if (!addr || out.some((a) => a.family === addr.family)) continue;
    if (ip.interface !== undefined && ip.interface >= 0 && ip.interface < prev.interfaces.length) {
      const intf = prev.interfaces[ip.interface];
      if (!intf || intf.name !== ifname || !intf.sandbox) continue;
    }
    out.push(addr);
  }
  return out;
}

/** Mappings that apply to one family: a hostIP of the other family is skipped, as upstream. */
export function mappingsFor(mappings: readonly PortMapping[], family: 4 | 6): PortMapping[] {
  return mappings.filter((m) => m.hostIP === "" || m.hostIP.includes(":") === (family === 6));
}
