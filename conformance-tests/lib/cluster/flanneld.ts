/**
 * Plays flanneld's part on one sandbox node: subnet.env, the backend's device/routes/neighbours,
 * and the FORWARD accept rules — programmed the way flanneld programs them.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Cidr, formatCidr, hostAddress } from "./addressing.js";
import { inNetns, ipBatch, ipJson, sh } from "../run-command.js";

export type Backend = "vxlan" | "host-gw";

export const VXLAN_DEVICE = "flannel.1";
export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;
/** VXLAN over IPv4 costs 50 bytes: flanneld sets flannel.1 (and FLANNEL_MTU) to underlay MTU - 50. */
export const VXLAN_OVERHEAD = 50;
export const UNDERLAY_DEVICE = "eth0";
export const UNDERLAY_MTU = 1500;

/** What flanneld knows about a node: its lease and its public (underlay) address. */
export interface NodeLease {
  netns: string;
  subnet: Cidr;
  underlayIp: string;
  /** flannel.1's MAC (vxlan only): published in the node's lease as VtepMAC. */
  vtepMac?: string;
}

export function flannelMtu(backend: Backend): number {
  return backend === "vxlan" ? UNDERLAY_MTU - VXLAN_OVERHEAD : UNDERLAY_MTU;
}

export function subnetEnvText(cluster: Cidr, subnet: Cidr, backend: Backend): string {
  return [
    `FLANNEL_NETWORK=${formatCidr(cluster)}`,
    `FLANNEL_SUBNET=${hostAddress(subnet, 1)}/${subnet.prefix}`,
    `FLANNEL_MTU=${flannelMtu(backend)}`,
    "FLANNEL_IPMASQ=true",
    "",
  ].join("\n");
}

/** Atomic like flanneld's writer (temp file + rename); mode 0644, directory 0755. */
export function writeSubnetEnv(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

/** flannel.1 as flanneld creates it: VNI 1, UDP 8472, local <node ip>, dev <underlay>, nolearning. */
export async function createVtep(lease: NodeLease): Promise<string> {
  await ipBatch(lease.netns, [
    `link add ${VXLAN_DEVICE} type vxlan id ${VXLAN_VNI} local ${lease.underlayIp} dev ${UNDERLAY_DEVICE} ` +
      `dstport ${VXLAN_PORT} nolearning`,
    `link set ${VXLAN_DEVICE} mtu ${UNDERLAY_MTU - VXLAN_OVERHEAD}`,
    `address add ${vtepAddress(lease)}/32 dev ${VXLAN_DEVICE}`,
    `link set ${VXLAN_DEVICE} up`,
  ]);
  const [link] = await ipJson<{ address: string }>(lease.netns, ["link", "show", "dev", VXLAN_DEVICE]);
  if (!link) throw new Error(`${VXLAN_DEVICE} vanished from ${lease.netns}`);
  return link.address;
}

/** flanneld puts the node subnet's network address on flannel.1 as a /32. */
export function vtepAddress(lease: NodeLease): string {
  return hostAddress(lease.subnet, 0);
}

/** The `ip -batch` and `bridge -batch` lines that make `peer`'s pod subnet reachable from a node. */
export function peerLines(backend: Backend, peer: NodeLease, op: "add" | "del"): { ip: string[]; fdb: string[] } {
  const dst = formatCidr(peer.subnet);
  // "replace" on the way in, as flanneld's netlink calls do: re-programming a peer is harmless.
  const verb = op === "add" ? "replace" : "del";
  if (backend === "host-gw")
    return { ip: [`route ${verb} ${dst} via ${peer.underlayIp} dev ${UNDERLAY_DEVICE}`], fdb: [] };
  if (!peer.vtepMac) throw new Error(`no VtepMAC known for the node at ${peer.underlayIp}`);
  const gw = vtepAddress(peer);
  if (op === "add") {
    return {
      ip: [
        `neighbor replace ${gw} lladdr ${peer.vtepMac} dev ${VXLAN_DEVICE} nud permanent`,
        `route replace ${dst} via ${gw} dev ${VXLAN_DEVICE} onlink`,
      ],
      fdb: [`fdb replace ${peer.vtepMac} dev ${VXLAN_DEVICE} dst ${peer.underlayIp} self permanent`],
    };
  }
  return {
    ip: [`route del ${dst} via ${gw} dev ${VXLAN_DEVICE} onlink`, `neighbor del ${gw} dev ${VXLAN_DEVICE}`],
    fdb: [`fdb del ${peer.vtepMac} dev ${VXLAN_DEVICE} dst ${peer.underlayIp} self`],
  };
}

async function applyPeerLines(netns: string, lines: { ip: string[]; fdb: string[] }): Promise<void> {
  if (lines.fdb.length) {
    await sh(["bridge", "-netns", netns, "-batch", "-"], { input: `${lines.fdb.join("\n")}\n` });
  }
  if (lines.ip.length) await ipBatch(netns, lines.ip);
}

export async function programPeers(backend: Backend, node: NodeLease, peers: readonly NodeLease[]): Promise<void> {
  const all = peers.map((p) => peerLines(backend, p, "add"));
  await applyPeerLines(node.netns, { ip: all.flatMap((l) => l.ip), fdb: all.flatMap((l) => l.fdb) });
}

export async function unprogramPeer(backend: Backend, node: NodeLease, peer: NodeLease): Promise<void> {
  await applyPeerLines(node.netns, peerLines(backend, peer, "del"));
}

export const FORWARD_COMMENT = "flanneld forward";
const FORWARD_CHAIN = "FLANNEL-FWD";

/**
 * flanneld's forward rules (FORWARD → FLANNEL-FWD, accept from and to the cluster network).
 * The node's FORWARD policy is set to DROP first, as on a Docker host, so pod traffic between
 * nodes really depends on these rules.
 */
export function forwardRules(cluster: Cidr): string {
  const net = formatCidr(cluster);
  const c = `-m comment --comment "${FORWARD_COMMENT}"`;
  return [
    "*filter",
    ":FORWARD DROP [0:0]",
    `:${FORWARD_CHAIN} - [0:0]`,
    `-A FORWARD ${c} -j ${FORWARD_CHAIN}`,
    `-A ${FORWARD_CHAIN} -s ${net} ${c} -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -d ${net} ${c} -j ACCEPT`,
    "COMMIT",
    "",
  ].join("\n");
}

export async function installForwardRules(netns: string, cluster: Cidr): Promise<void> {
  await sh(inNetns(netns, ["iptables-restore", "--noflush"]), { input: forwardRules(cluster) });
}
