/**
 * The network configs a sandbox node runs pods with. "kube-flannel" is the conflist kube-flannel
 * installs (flannel + portmap), with the paths pointed into the sandbox; "rendered-delegate" is
 * what flannel hands to bridge for that node, for driving reference plugins through the same
 * cluster plumbing.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Cidr, formatCidr } from "./addressing.js";
import { type Backend, flannelMtu } from "./flanneld.js";
import type { FlannelNode } from "../node.js";
import type { Flavor } from "./state.js";

export const NETWORK_NAME = "cbr0";
export const LOOPBACK_NETWORK = "lo";
export const CONFLIST_FILE = "10-flannel.conflist";

export function kubeFlannelConflist(node: FlannelNode): object {
  return {
    name: NETWORK_NAME,
    cniVersion: "0.3.1",
    plugins: [
      {
        type: "flannel",
        subnetFile: node.subnetFile,
        dataDir: node.flannelDataDir,
        ipam: { dataDir: node.ipamDataDir },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/**
 * The conflist k3s writes on every node (flannel with the delegate k3s renders, portmap,
 * bandwidth), with the paths pointed into the sandbox.
 */
export function k3sConflist(node: FlannelNode): object {
  return {
    name: NETWORK_NAME,
    cniVersion: "1.0.0",
    plugins: [
      {
        type: "flannel",
        subnetFile: node.subnetFile,
        dataDir: node.flannelDataDir,
        ipam: { dataDir: node.ipamDataDir },
        delegate: { hairpinMode: true, forceAddress: true, isDefaultGateway: true },
      },
      { type: "portmap", capabilities: { portMappings: true } },
      { type: "bandwidth", capabilities: { bandwidth: true } },
    ],
  };
}

export function renderedDelegateConflist(node: FlannelNode, cluster: Cidr, subnet: Cidr, backend: Backend): object {
  return {
    name: NETWORK_NAME,
    cniVersion: "0.3.1",
    plugins: [
      {
        type: "bridge",
        hairpinMode: true,
        ipMasq: false,
        isDefaultGateway: true,
        isGateway: true,
        mtu: flannelMtu(backend),
        ipam: {
          type: "host-local",
          dataDir: node.ipamDataDir,
          ranges: [[{ subnet: formatCidr(subnet) }]],
          routes: [{ dst: formatCidr(cluster) }],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** containerd runs loopback for every pod from its own config; the sandbox keeps it beside the conflist. */
export function loopbackConf(): object {
  return { cniVersion: "0.3.1", name: LOOPBACK_NETWORK, type: "loopback" };
}

export function writeNodeConfigs(
  node: FlannelNode,
  flavor: Flavor,
  cluster: Cidr,
  subnet: Cidr,
  backend: Backend,
): void {
  mkdirSync(node.confDir, { recursive: true });
  const list =
    flavor === "kube-flannel"
      ? kubeFlannelConflist(node)
      : flavor === "k3s"
        ? k3sConflist(node)
        : renderedDelegateConflist(node, cluster, subnet, backend);
  writeAtomically(join(node.confDir, CONFLIST_FILE), `${JSON.stringify(list, null, 2)}\n`);
  writeAtomically(join(node.confDir, "99-loopback.conf"), `${JSON.stringify(loopbackConf(), null, 2)}\n`);
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
