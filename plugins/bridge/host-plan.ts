import { EXISTS, GONE, type IpStep } from "../../shared/net/exec.js";
import type { LinkInfo } from "../../shared/net/ip-json.js";
import type { AddrPlan } from "./bridge-address.js";
import type { BridgeConf } from "./config.js";

export interface HostPlanInput {
  conf: BridgeConf;
  /** The bridge as found, or undefined when this ADD creates it. */
  bridge: LinkInfo | undefined;
  /** MAC to create a new bridge with (pinned from the start when it is a gateway). */
  newBridgeMac: string | undefined;
  veth: string;
  ifname: string;
  netns: string;
  /** Where gateway addresses go: the bridge, or "<bridge>.<vlan>". */
  gwIface: string;
  /** A "<bridge>.<vlan>" gateway veth pair to create: its bridge-side peer name. */
  newVlanGwPeer: string | undefined;
  addrs: AddrPlan;
}

export interface HostPlan {
  steps: IpStep[];
  /** Index of the step that creates the pod veth pair (for error mapping and retries). */
  vethStep: number;
  notes: string[];
}

/** The host-namespace `ip -batch` of one ADD, in upstream's order (bridge, veth, port, addresses). */
export function planHost(p: HostPlanInput): HostPlan {
  const { conf } = p;
  const steps: IpStep[] = [];
  const notes: string[] = [];
  const br = conf.bridge;
  const mtu = conf.mtu > 0 ? ` mtu ${conf.mtu}` : "";
  if (!p.bridge) {
    const mac = p.newBridgeMac ? ` address ${p.newBridgeMac}` : "";
    const filtering = conf.vlan !== 0 || conf.vlans !== undefined ? " vlan_filtering 1" : "";
    steps.push({ line: `link add ${br}${mac}${mtu} type bridge${filtering}` });
  } else if (conf.mtu > 0 && p.bridge.mtu !== conf.mtu) {
    notes.push(`bridge: "${br}" had MTU ${p.bridge.mtu}, set to the configured ${conf.mtu}`);
    steps.push({ line: `link set ${br} mtu ${conf.mtu}` });
  }
  if (conf.promiscMode && !p.bridge?.promisc) steps.push({ line: `link set ${br} promisc on` });
  steps.push({ line: `link set ${br} up` });
  const vethStep = steps.length;
  const mac = conf.mac ? ` address ${conf.mac}` : "";
  // txqlen 0 on both ends, as upstream's netlink request does (IFLA_TXQLEN from a zero LinkAttrs).
  steps.push({ line: `link add ${p.veth}${mtu} txqlen 0 type veth peer name ${p.ifname}${mtu} txqlen 0${mac} netns ${p.netns}` });
  steps.push({ line: `link set ${p.veth} master ${br}` });
  steps.push({
    line: `link set ${p.veth} type bridge_slave hairpin ${conf.hairpinMode ? "on" : "off"} isolated ${conf.portIsolation ? "on" : "off"}`,
  });
  steps.push({ line: `link set ${p.veth} up` });
  if (p.newVlanGwPeer) {
    const bmtu = p.bridge ? ` mtu ${p.bridge.mtu}` : mtu;
    steps.push({ line: `link add ${p.gwIface}${bmtu} type veth peer name ${p.newVlanGwPeer}${bmtu}`, tolerate: EXISTS });
    steps.push({ line: `link set ${p.newVlanGwPeer} master ${br}` });
    steps.push({ line: `link set ${p.newVlanGwPeer} up` });
    steps.push({ line: `link set ${p.gwIface} up` });
  }
  for (const a of p.addrs.del) steps.push({ line: `addr del ${a} dev ${p.gwIface}`, tolerate: GONE });
  for (const a of p.addrs.add) steps.push({ line: `addr add ${a} dev ${p.gwIface}`, tolerate: EXISTS });
  // Pin the bridge MAC so it stops following the lowest port MAC (upstream does this per gateway).
  if (conf.isGateway && p.bridge) steps.push({ line: `link set ${br} address ${p.bridge.address}` });
  notes.push(...p.addrs.notes);
  return { steps, vethStep, notes };
}

/** `bridge -batch` lines for the VLAN settings of a host port (access or trunk). */
export function planPortVlans(conf: BridgeConf, port: string, access = conf.vlan): string[] {
  const trunk = access === conf.vlan ? (conf.vlans ?? []) : [];
  if (access === 0 && trunk.length === 0) return [];
  const lines: string[] = [];
  if (!conf.preserveDefaultVlan) lines.push(`vlan del dev ${port} vid 1`);
  if (access !== 0) lines.push(`vlan add dev ${port} vid ${access} pvid untagged master`);
  for (const v of trunk) lines.push(`vlan add dev ${port} vid ${v} master`);
  return lines;
}
