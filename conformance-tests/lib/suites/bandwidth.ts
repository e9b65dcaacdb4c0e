/**
 * What the bandwidth tests share: a plugin directory with Debian's bridge + host-local below
 * either bandwidth, the conflist, and the node's tc state in a form two nodes can be compared in
 * (veth names by role, counters and kernel-chosen indexes left out).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OURS_BIN, REFERENCE_BIN, type Impl } from "../paths.js";
import type { Pod, SandboxNode } from "../sandbox.js";

export interface BinDir {
  dir: string;
  remove(): void;
}

export function bandwidthBinDir(impl: Impl): BinDir {
  const dir = mkdtempSync(join(tmpdir(), "cts-bandwidth-bin-"));
  for (const p of ["bridge", "host-local", "loopback"]) symlinkSync(join(REFERENCE_BIN, p), join(dir, p));
  symlinkSync(join(impl === "ours" ? OURS_BIN : REFERENCE_BIN, "bandwidth"), join(dir, "bandwidth"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface BwNames {
  network: string;
  bridge: string;
}

export function bwNames(node: SandboxNode): BwNames {
  return { network: node.uniqueName("bw-"), bridge: node.uniqueName("cb") };
}

export function bandwidthConflist(
  node: SandboxNode,
  n: BwNames,
  bandwidth: Record<string, unknown> = {},
  version = "1.0.0",
) {
  return {
    cniVersion: version,
    name: n.network,
    plugins: [
      {
        type: "bridge",
        bridge: n.bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: "host-local", ranges: [[{ subnet: node.subnet() }]], dataDir: node.dataDir },
      },
      { type: "bandwidth", capabilities: { bandwidth: true }, ...bandwidth },
    ],
  };
}

/** k3s's node: FLANNEL_NETWORK 10.42.0.0/16, this node's lease 10.42.1.0/24. */
export const K3S_NETWORK = "cbr0";
const K3S_SUBNET_ENV =
  "FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

/**
 * The conflist k3s writes (flannel with the delegate k3s renders, portmap, bandwidth), unchanged
 * but for the sandbox's paths and bridge name; writes the node's subnet.env beside it.
 */
export function k3sSandboxConflist(node: SandboxNode): {
  conflist: { name: string } & Record<string, unknown>;
  bridge: string;
} {
  const runDir = join(node.dir, "run-flannel");
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "subnet.env"), K3S_SUBNET_ENV);
  const bridge = node.uniqueName("cni");
  const conflist = {
    name: K3S_NETWORK,
    cniVersion: "1.0.0",
    plugins: [
      {
        type: "flannel",
        delegate: { hairpinMode: true, forceAddress: true, isDefaultGateway: true, bridge },
        subnetFile: join(runDir, "subnet.env"),
        dataDir: join(node.dataDir, "flannel"),
        ipam: { dataDir: join(node.dataDir, "networks") },
      },
      { type: "portmap", capabilities: { portMappings: true } },
      { type: "bandwidth", capabilities: { bandwidth: true } },
    ],
  };
  return { conflist, bridge };
}

interface LinkJson {
  ifname: string;
  ifindex: number;
  mtu: number;
  txqlen?: number;
  flags?: string[];
  operstate?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

export interface TcState {
  /** ifb devices: name, MTU, queue length, flags. */
  ifbs: Array<Record<string, unknown>>;
  /** qdiscs by device role ("veth<pod>", the ifb's name), without counters. */
  qdiscs: Record<string, unknown[]>;
  /** ingress filters by device role. */
  filters: Record<string, unknown[]>;
  /** ifb aliases (ours marks its ifbs for GC; the Go plugin sets none). */
  aliases: Record<string, string>;
}

async function json(node: SandboxNode, argv: string[]): Promise<unknown[]> {
  const r = await node.exec(argv);
  const text = r.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as unknown[]);
}

/** Peer ifindex of each pod's eth0 → "veth<label>", so random veth names compare. */
async function vethRoles(node: SandboxNode, pods: readonly Pod[]): Promise<Map<string, string>> {
  const roles = new Map<string, string>();
  const links = (await json(node, ["ip", "-j", "link", "show"])) as LinkJson[];
  for (const pod of pods) {
    const r = await node.execInPod(pod, ["ip", "-j", "link", "show", "dev", "eth0"], { check: false });
    if (r.status !== 0) continue;
    const peer = (JSON.parse(r.stdout) as Array<{ link_index?: number }>)[0]?.link_index;
    const host = links.find((l) => l.ifindex === peer);
    if (host) roles.set(host.ifname, `veth<${pod.label}>`);
  }
  return roles;
}

/** Strips what differs between any two runs: counters, action indexes, kernel handles of hashes. */
function scrub(value: unknown, roles: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => scrub(v, roles));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (
        [
          "bytes",
          "packets",
          "drops",
          "overlimits",
          "requeues",
          "backlog",
          "qlen",
          "refcnt",
          "index",
          "ref",
          "bind",
          "installed",
          "last_used",
          "first_used",
          "expires",
          "stats",
          "stats64",
        ].includes(k)
      )
        continue;
      out[k] = scrub(v, roles);
    }
    return out;
  }
  if (typeof value === "string") return roles.get(value) ?? value;
  return value;
}

export async function captureTc(node: SandboxNode, pods: readonly Pod[]): Promise<TcState> {
  const roles = await vethRoles(node, pods);
  const links = (await json(node, ["ip", "-j", "-d", "link", "show"])) as LinkJson[];
  const ifbs = links.filter((l) => l.linkinfo?.info_kind === "ifb");
  const state: TcState = { ifbs: [], qdiscs: {}, filters: {}, aliases: {} };
  for (const l of ifbs) {
    state.ifbs.push({ name: l.ifname, mtu: l.mtu, txqlen: l.txqlen, flags: l.flags, operstate: l.operstate });
    state.aliases[l.ifname] = l.ifalias ?? "";
  }
  const devs = [...roles.keys(), ...ifbs.map((l) => l.ifname)];
  for (const dev of devs) {
    const role = roles.get(dev) ?? dev;
    state.qdiscs[role] = scrub(
      await json(node, ["tc", "-j", "-d", "-r", "qdisc", "show", "dev", dev]),
      roles,
    ) as unknown[];
    state.filters[role] = scrub(
      await json(node, ["tc", "-j", "-d", "-r", "filter", "show", "dev", dev, "ingress"]),
      roles,
    ) as unknown[];
  }
  return state;
}

/**
 * Every ifb and every non-default qdisc the node has (what must be gone after DEL). The kernel
 * removes the host end of a veth (and its qdiscs) asynchronously after the pod's namespace is
 * deleted, so leftovers are re-read for a while before they count.
 */
export async function shapingLeftovers(node: SandboxNode): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = await shapingState(node);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function shapingState(node: SandboxNode): Promise<string[]> {
  const out: string[] = [];
  const links = (await json(node, ["ip", "-j", "-d", "link", "show"])) as LinkJson[];
  for (const l of links) if (l.linkinfo?.info_kind === "ifb") out.push(`ifb ${l.ifname}`);
  for (const q of (await json(node, ["tc", "-j", "qdisc", "show"])) as Array<{ kind: string; dev: string }>) {
    if (["tbf", "ingress", "htb", "clsact"].includes(q.kind)) out.push(`qdisc ${q.kind} on ${q.dev}`);
  }
  return out;
}
