import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { EXISTS, GONE } from "../../shared/net/batch.js";
import { ipLine, type KernelOp, type KernelStep } from "../../shared/net/kernel.js";
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
  steps: KernelStep[];
  /** Index of the step that creates the pod veth pair (for error mapping and retries). */
  vethStep: number;
  notes: string[];
}

const fail = (msg: (reason: string) => string) => (reason: string) => new CniError(ErrorCode.Internal, msg(reason));

/** The host-namespace steps of one ADD, in upstream's order (bridge, veth, port, addresses), with upstream's messages. */
export function planHost(p: HostPlanInput): HostPlan {
  const { conf } = p;
  const steps: KernelStep[] = [];
  const notes: string[] = [];
  const br = conf.bridge;
  const mtu = conf.mtu > 0 ? conf.mtu : undefined;
  const connect = fail((r) => `failed to connect "${p.veth}" to bridge ${br}: ${r}`);
  const makeVeth = fail((r) => `failed to make veth pair: ${r}`);
  const other = (op: KernelOp): KernelStep => ({
    op,
    fail: fail((r) => `failed to set up bridge "${br}": ${ipLine(op)}: ${r}`),
  });
  if (!p.bridge) {
    steps.push({
      op: {
        op: "bridge-add",
        name: br,
        address: p.newBridgeMac,
        mtu,
        vlanFiltering: conf.vlan !== 0 || conf.vlans !== undefined,
      },
      fail: fail((r) => `failed to create bridge "${br}": could not add "${br}": ${r}`),
    });
  } else if (conf.mtu > 0 && p.bridge.mtu !== conf.mtu) {
    notes.push(`bridge: "${br}" had MTU ${p.bridge.mtu}, set to the configured ${conf.mtu}`);
    steps.push(other({ op: "link-set", dev: br, mtu: conf.mtu }));
  }
  if (conf.promiscMode && !p.bridge?.promisc) steps.push(other({ op: "link-set", dev: br, promisc: true }));
  steps.push(other({ op: "link-set", dev: br, up: true }));
  const vethStep = steps.length;
  // txqlen 0 on both ends, as upstream's netlink request does (IFLA_TXQLEN from a zero LinkAttrs).
  steps.push({
    op: {
      op: "veth-add",
      name: p.veth,
      mtu,
      txqlen: 0,
      peer: { name: p.ifname, mtu, txqlen: 0, address: conf.mac || undefined, netns: p.netns },
    },
    fail: makeVeth,
  });
  steps.push({ op: { op: "link-set", dev: p.veth, master: br }, fail: connect });
  steps.push({
    op: { op: "port-set", dev: p.veth, hairpin: conf.hairpinMode, isolated: conf.portIsolation },
    fail: fail((r) => `failed to setup hairpin mode for ${p.veth}: ${r}`),
  });
  steps.push(other({ op: "link-set", dev: p.veth, up: true }));
  if (p.newVlanGwPeer) {
    const bmtu = p.bridge ? p.bridge.mtu : mtu;
    steps.push({
      op: { op: "veth-add", name: p.gwIface, mtu: bmtu, peer: { name: p.newVlanGwPeer, mtu: bmtu } },
      tolerate: EXISTS,
      fail: makeVeth,
    });
    steps.push({ op: { op: "link-set", dev: p.newVlanGwPeer, master: br }, fail: connect });
    steps.push(other({ op: "link-set", dev: p.newVlanGwPeer, up: true }));
    steps.push(other({ op: "link-set", dev: p.gwIface, up: true }));
  }
  for (const a of p.addrs.del) steps.push({ ...other({ op: "addr-del", cidr: a, dev: p.gwIface }), tolerate: GONE });
  for (const a of p.addrs.add) {
    steps.push({
      op: { op: "addr-add", cidr: a, dev: p.gwIface },
      tolerate: EXISTS,
      fail: fail((r) => `failed to set bridge addr: could not add IP address ${a} to "${br}": ${r}`),
    });
  }
  // Pin the bridge MAC so it stops following the lowest port MAC (upstream does this per gateway).
  if (conf.isGateway && p.bridge) steps.push(other({ op: "link-set", dev: br, address: p.bridge.address }));
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
