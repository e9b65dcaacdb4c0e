/**
 * The two chains the bench drives, identical on both sides except for the plugins:
 * - "bridge": bridge + host-local, one plugin in the list;
 * - "flannel": kube-flannel's conflist (flannel + portmap) with subnet.env in the sandbox. Debian
 *   ships no Go flannel, so the reference side runs the delegate config flannel renders for this
 *   node (bridge + host-local) followed by the same portmap: upstream's chain minus the flannel
 *   process itself, which makes the comparison stricter for us, not looser.
 * Every list is cniVersion 1.0.0 (kube-flannel ships 0.3.1, which has no CHECK).
 */
import { join } from "node:path";
import { type CallOptions, cnitoolEnv, pluginEnv } from "../../conformance-tests/lib/cni-calls.js";
import { type Cidr, formatCidr, parseCidr } from "../../conformance-tests/lib/cluster/addressing.js";
import { kubeFlannelConflist, renderedDelegateConflist } from "../../conformance-tests/lib/cluster/conflist.js";
import { subnetEnvText, writeSubnetEnv } from "../../conformance-tests/lib/cluster/flanneld.js";
import { type ConfList, pluginStdin } from "../../conformance-tests/lib/runtimes/direct.js";
import type { FlannelNode } from "../../conformance-tests/lib/node.js";
import { CNITOOL, type Impl, TOOL_PATH } from "../../conformance-tests/lib/paths.js";
import type { Pod, SandboxNode } from "../../conformance-tests/lib/sandbox.js";
import type { Job } from "./timer.js";

export type ChainId = "bridge" | "flannel";
export const CHAINS: readonly ChainId[] = ["bridge", "flannel"];

export const CNI_VERSION = "1.0.0";
const FLANNEL_BACKEND = "vxlan";

export interface Chain {
  id: ChainId;
  network: string;
  list: ConfList;
}

export interface NodeChains {
  bridge: Chain;
  flannel: Chain;
  /** Where our flannel saves the rendered delegate config (compared with the reference's list). */
  flannelDataDir: string;
}

/** Cluster /16 and this node's /24 for the flannel chain, from the sandbox token (twins agree). */
function flannelAddressing(node: SandboxNode): { cluster: Cidr; subnet: Cidr } {
  const nodeNet = parseCidr(node.subnet(1));
  const cluster = parseCidr(`${formatCidr(nodeNet).split(".").slice(0, 2).join(".")}.0.0/16`);
  return { cluster, subnet: nodeNet };
}

/** The bridge chain's /24, chosen outside the flannel cluster network. */
function bridgeSubnet(node: SandboxNode, cluster: Cidr): string {
  for (let i = 2; ; i++) {
    const s = node.subnet(i);
    if (parseCidr(s).base >>> 16 !== cluster.base >>> 16) return s;
  }
}

/** Writes subnet.env and both config lists into the node; returns the chains. */
export function setUpChains(node: SandboxNode, impl: Impl): NodeChains {
  const { cluster, subnet } = flannelAddressing(node);
  const state: FlannelNode = {
    netns: node.netns,
    dir: node.dir,
    subnetFile: join(node.dir, "run", "flannel", "subnet.env"),
    confDir: node.confDir,
    cacheDir: node.cacheDir,
    flannelDataDir: join(node.dataDir, "flannel"),
    ipamDataDir: join(node.dataDir, "ipam"),
  };
  writeSubnetEnv(state.subnetFile, subnetEnvText(cluster, subnet, FLANNEL_BACKEND));

  const cbr = node.uniqueName("bf");
  const flannelList = (
    impl === "ours" ? kubeFlannelConflist(state) : renderedDelegateConflist(state, cluster, subnet, FLANNEL_BACKEND)
  ) as ConfList;
  flannelList.cniVersion = CNI_VERSION;
  const first = flannelList.plugins[0]!;
  // A bridge name unique to this run instead of cni0, so teardown can prove it never reached the root netns.
  if (impl === "ours") (first.delegate as Record<string, unknown>).bridge = cbr;
  else first.bridge = cbr;

  const bridgeList: ConfList = {
    cniVersion: CNI_VERSION,
    name: "bench-bridge",
    plugins: [
      {
        type: "bridge",
        bridge: node.uniqueName("bb"),
        isGateway: true,
        ipam: { type: "host-local", dataDir: state.ipamDataDir, ranges: [[{ subnet: bridgeSubnet(node, cluster) }]] },
      },
    ],
  };
  node.writeConflist(bridgeList as ConfList & { name: string });
  node.writeConflist(flannelList as ConfList & { name: string });
  return {
    bridge: { id: "bridge", network: bridgeList.name, list: bridgeList },
    flannel: { id: "flannel", network: flannelList.name, list: flannelList },
    flannelDataDir: state.flannelDataDir,
  };
}

/** One libcni call through the project's client, as a timer job. */
export function cnitoolJob(
  node: SandboxNode,
  chain: Chain,
  verb: "add" | "check" | "del",
  pod: Pod,
  opts: CallOptions = {},
): Job {
  const env = cnitoolEnv({
    confDir: node.confDir,
    cniPath: node.cniPath,
    containerId: pod.containerId,
    opts,
    toolPath: TOOL_PATH,
  });
  // The result cache goes as a flag: libcni hands its environment to the plugins.
  return { argv: [CNITOOL, "-cache-dir", node.cacheDir, verb, chain.network, pod.path], env };
}

/** VERSION straight to a plugin executable, as libcni's GetVersionInfo does. */
export function versionJob(node: SandboxNode, plugin: string, dropCaches = false): Job {
  return {
    argv: [node.findPlugin(plugin)],
    env: { PATH: TOOL_PATH, CNI_COMMAND: "VERSION" },
    stdin: JSON.stringify({ cniVersion: CNI_VERSION }),
    dropCaches,
  };
}

/** The chain's first plugin executed directly (no libcni), for its own peak memory. */
export function directJob(node: SandboxNode, chain: Chain, verb: "ADD" | "DEL", pod: Pod, opts: CallOptions = {}): Job {
  const plugin = chain.list.plugins[0]!;
  return {
    argv: [node.findPlugin(String(plugin.type))],
    env: pluginEnv({
      verb,
      netns: pod.path,
      cniPath: node.cniPath,
      containerId: pod.containerId,
      opts,
      toolPath: TOOL_PATH,
    }),
    stdin: JSON.stringify(pluginStdin(chain.list, plugin, undefined, undefined)),
  };
}

/** The plugin whose executable answers for the chain's first hop on this side. */
export function firstPluginType(chain: Chain): string {
  return String(chain.list.plugins[0]!.type);
}
