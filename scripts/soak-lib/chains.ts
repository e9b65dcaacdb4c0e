/**
 * The two chains the crash-safety and load tests drive, each confined to one sandbox node:
 * "flannel": kube-flannel's conflist (flannel → bridge → host-local, then portmap), with
 *            FLANNEL_IPMASQ=false so the bridge also installs masquerade rules;
 * "flannel-dual": the same with an IPv6 subnet too (two range sets: a crash between them is the
 *            classic half-allocated pod);
 * "k3s":     k3s's conflist (flannel with forceAddress, then portmap, then bandwidth), every pod
 *            shaped both ways (an ifb each), cniVersion 1.0.0;
 * "bridge":  bridge + host-local with ipMasq, then portmap.
 * Every path (subnet.env, flannel dataDir, host-local dataDir) points into the sandbox.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SandboxNode } from "../../conformance-tests/lib/sandbox.js";

export type ChainKind = "flannel" | "flannel-dual" | "k3s" | "bridge";

export interface Chain {
  kind: ChainKind;
  /** Network name (the conflist's name, also host-local's store directory). */
  network: string;
  bridge: string;
  subnet: string;
  gateway: string;
  ipamDataDir: string;
  /** Only for the flannel chain. */
  flannelDataDir?: string;
  subnetFile?: string;
  /** The plugin configs of the list, for direct invocation (GC) as libcni would build them. */
  plugins: Record<string, unknown>[];
  cniVersion: string;
}

export interface ChainOptions {
  /** Network name suffix (two networks may share one bridge). */
  suffix?: string;
  /** Subnet index in the node's address plan. */
  subnetIndex?: number;
  /** Bridge to use (default: a unique one per node). */
  bridge?: string;
  cniVersion?: string;
  /** host-local range inside the subnet (bridge chain), e.g. to split one subnet between two networks. */
  range?: { rangeStart: string; rangeEnd: string };
}

export function setupChain(node: SandboxNode, kind: ChainKind, opts: ChainOptions = {}): Chain {
  const flannel = kind !== "bridge";
  const network = `${flannel ? "cbr" : "br"}${node.token}${opts.suffix ?? ""}`;
  const bridge = opts.bridge ?? node.uniqueName("cb");
  const subnet = node.subnet(opts.subnetIndex ?? (flannel ? 1 : 2));
  const gateway = subnet.replace(/\.0\/24$/, ".1");
  const ipamDataDir = join(node.dataDir, "networks");
  const portmap = { type: "portmap", capabilities: { portMappings: true } };
  const cniVersion = opts.cniVersion ?? (flannel && kind !== "k3s" ? "0.3.1" : "1.0.0");
  let plugins: Record<string, unknown>[];
  let extra: Partial<Chain> = {};
  if (flannel) {
    const flannelDataDir = join(node.dataDir, "flannel");
    const subnetFile = join(node.dir, "run-flannel", `subnet${opts.suffix ?? ""}.env`);
    mkdirSync(join(node.dir, "run-flannel"), { recursive: true });
    const cluster = subnet.replace(/\.\d+\.0\/24$/, ".0.0/16");
    const v6 = kind === "flannel-dual" ? node.subnet6(1) : undefined;
    const v6Lines = v6
      ? `FLANNEL_IPV6_NETWORK=${v6.replace(/:[0-9a-f]+::\/64$/, "::/48")}\nFLANNEL_IPV6_SUBNET=${v6.replace(/::\/64$/, "::1/64")}\n`
      : "";
    writeFileSync(
      subnetFile,
      `FLANNEL_NETWORK=${cluster}\nFLANNEL_SUBNET=${gateway}/24\n${v6Lines}FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`,
    );
    plugins = [
      {
        type: "flannel",
        subnetFile,
        dataDir: flannelDataDir,
        delegate: { hairpinMode: true, isDefaultGateway: true, bridge, ...(kind === "k3s" && { forceAddress: true }) },
        ipam: { dataDir: ipamDataDir },
      },
      portmap,
      ...(kind === "k3s" ? [{ type: "bandwidth", capabilities: { bandwidth: true } }] : []),
    ];
    extra = { flannelDataDir, subnetFile };
  } else {
    plugins = [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet, ...opts.range }]], dataDir: ipamDataDir },
      },
      portmap,
    ];
  }
  node.writeConflist({ cniVersion, name: network, plugins });
  return { kind, network, bridge, subnet, gateway, ipamDataDir, plugins, cniVersion, ...extra };
}

/**
 * Capability args for one pod: a unique host port, so portmap installs rules to leak, and both
 * directions shaped, so bandwidth makes an ifb and qdiscs to leak (only chains that declare the
 * capability get it).
 */
export function podCapArgs(hostPort: number): Record<string, unknown> {
  return {
    portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }],
    bandwidth: { ingressRate: 100_000_000, ingressBurst: 1_000_000, egressRate: 100_000_000, egressBurst: 1_000_000 },
  };
}
