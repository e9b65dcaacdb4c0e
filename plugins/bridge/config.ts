/** The bridge plugin's config fields (upstream's NetConf); unknown keys are ignored, as Go does. */
import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { validateInterfaceName } from "../../shared/cni/env.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import { DnsSchema, type Dns } from "../../shared/cni/result.js";

const flag = z.nullish(z.boolean());
const TrunkSchema = z.looseObject({
  id: z.nullish(z.int()),
  minID: z.nullish(z.int()),
  maxID: z.nullish(z.int()),
});
const BridgeConfSchema = z.looseObject({
  bridge: z.nullish(z.string()),
  isGateway: flag,
  isDefaultGateway: flag,
  forceAddress: flag,
  ipMasq: flag,
  ipMasqBackend: z.nullish(z.string()),
  mtu: z.nullish(z.int()),
  hairpinMode: flag,
  promiscMode: flag,
  vlan: z.nullish(z.int()),
  vlanTrunk: z.nullish(z.array(TrunkSchema)),
  preserveDefaultVlan: flag,
  macspoofchk: flag,
  enabledad: flag,
  disableContainerInterface: flag,
  portIsolation: flag,
  ipam: z.nullish(z.looseObject({ type: z.nullish(z.string()) })),
  dns: z.nullish(DnsSchema),
  args: z.nullish(z.looseObject({ cni: z.nullish(z.looseObject({ mac: z.nullish(z.unknown()) })) })),
  runtimeConfig: z.nullish(z.looseObject({ mac: z.nullish(z.unknown()) })),
});

export type MasqBackend = "iptables" | "nftables";

export interface BridgeConf {
  name: string;
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  /** undefined: iptables unless only nft is installed (upstream's default). */
  ipMasqBackend: MasqBackend | undefined;
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  /** Tagged VLAN ids from vlanTrunk, ascending; undefined when vlanTrunk is absent. */
  vlans: number[] | undefined;
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** IPAM plugin type; "" means a layer-2 only network. */
  ipamType: string;
  /** DNS from the config, only when some field is set (it then replaces IPAM's). */
  dns: Dns | undefined;
  /** Container MAC (runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC), lower-case, colon form. */
  mac: string | undefined;
}

const invalid = (msg: string, details = "") => new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

/** Reads and checks the config the way upstream's loadNetConf does, with the same messages. */
export function loadBridgeConf(inv: Invocation, opts: { forDel?: boolean } = {}): BridgeConf {
  const c = parseWith(BridgeConfSchema, inv.raw, "bridge config");
  const bridge = c.bridge || "cni0";
  try {
    validateInterfaceName(bridge);
  } catch (e) {
    throw invalid(
      `invalid bridge name "${bridge}": ${(e as Error).message}`,
      "bridge must be a valid Linux interface name of at most 15 characters",
    );
  }
  const vlan = c.vlan ?? 0;
  if (vlan < 0 || vlan > 4094) throw invalid(`invalid VLAN ID ${vlan} (must be between 0 and 4094)`);
  const vlans = c.vlanTrunk ? collectVlanTrunk(c.vlanTrunk) : undefined;
  if (vlan > 0 && vlans !== undefined && vlans.length > 0) {
    throw invalid(
      "cannot set vlan and vlanTrunk at the same time",
      "a port is either an access port (vlan) or a trunk port (vlanTrunk)",
    );
  }
  const backend = c.ipMasqBackend ?? undefined;
  if (backend !== undefined && backend !== "iptables" && backend !== "nftables") {
    throw invalid(`unknown ipmasq backend "${backend}"`, 'ipMasqBackend must be "iptables" or "nftables"');
  }
  const mtu = c.mtu ?? 0;
  if (mtu < 0 || mtu > 65535) throw invalid(`invalid mtu ${mtu}`, "mtu must be between 0 (kernel default) and 65535");
  const conf: BridgeConf = {
    name: inv.conf.name,
    bridge,
    isGateway: !!c.isGateway || !!c.isDefaultGateway,
    isDefaultGateway: !!c.isDefaultGateway,
    forceAddress: !!c.forceAddress,
    ipMasq: !!c.ipMasq,
    ipMasqBackend: backend,
    mtu,
    hairpinMode: !!c.hairpinMode,
    promiscMode: !!c.promiscMode,
    vlan,
    vlans,
    preserveDefaultVlan: !!c.preserveDefaultVlan,
    macspoofchk: !!c.macspoofchk,
    enabledad: !!c.enabledad,
    disableContainerInterface: !!c.disableContainerInterface,
    portIsolation: !!c.portIsolation,
    ipamType: c.ipam?.type ?? "",
    dns: c.dns && dnsIsSet(c.dns) ? c.dns : undefined,
    mac: undefined,
  };
  const macs = { runtimeConfig: c.runtimeConfig?.mac, args: c.args?.cni?.mac };
  // DEL must not fail over fields that only matter for ADD.
  if (opts.forDel) return conf;
  if (conf.ipamType !== "" && conf.disableContainerInterface) {
    throw invalid(
      "cannot use IPAM when DisableContainerInterface flag is set",
      "remove ipam or disableContainerInterface",
    );
  }
  if (conf.hairpinMode && conf.promiscMode) {
    throw invalid("cannot set hairpin mode and promiscuous mode at the same time", "choose hairpinMode or promiscMode");
  }
  conf.mac = containerMac(inv, macs);
  return conf;
}

function dnsIsSet(dns: Dns): boolean {
  return !!(dns.nameservers?.length || dns.domain || dns.search?.length || dns.options?.length);
}

type Trunk = z.infer<typeof TrunkSchema>;

/** vlanTrunk → sorted unique VLAN ids, with upstream's messages. */
export function collectVlanTrunk(trunk: readonly Trunk[]): number[] {
  const ids = new Set<number>();
  const inRange = (v: number) => v > 0 && v <= 4094;
  for (const item of trunk) {
    const min = item.minID ?? undefined;
    const max = item.maxID ?? undefined;
    if (min !== undefined && max !== undefined) {
      if (!inRange(min)) throw invalid("incorrect trunk minID parameter");
      if (!inRange(max)) throw invalid("incorrect trunk maxID parameter");
      if (max < min) throw invalid("minID is greater than maxID in trunk parameter");
      for (let v = min; v <= max; v++) ids.add(v);
    } else if (min === undefined && max !== undefined) {
      throw invalid("minID and maxID should be configured simultaneously, minID is missing");
    } else if (min !== undefined && max === undefined) {
      throw invalid("minID and maxID should be configured simultaneously, maxID is missing");
    }
    const id = item.id ?? undefined;
    if (id !== undefined) {
      if (!inRange(id)) throw invalid("incorrect trunk id parameter");
      ids.add(id);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** The container MAC with upstream's precedence: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC. */
function containerMac(inv: Invocation, fromConf: { runtimeConfig: unknown; args: unknown }): string | undefined {
  const fromArgs = inv.cniArgs(["MAC"]).get("MAC");
  const pick = [fromConf.runtimeConfig, fromConf.args, fromArgs].find((v) => typeof v === "string" && v !== "") as
    string | undefined;
  return pick === undefined ? undefined : normalizeMac(pick);
}

export function normalizeMac(mac: string): string {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw invalid(`invalid MAC address "${mac}"`, "use six hex octets such as 0a:58:0a:f4:01:02");
  }
  return parts.join(":").toLowerCase();
}
