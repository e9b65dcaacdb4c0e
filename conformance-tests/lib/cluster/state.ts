/**
 * Everything one sandbox cluster created, persisted as <baseDir>/cluster.json after every
 * change so `scripts/demo --teardown ID` (or a crashed test's cleanup) removes exactly that.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FlannelNode } from "../node.js";
import type { Backend } from "./flanneld.js";

/** kube-flannel's conflist, k3s's (flannel + portmap + bandwidth), or the delegate flannel renders (reference plugins). */
export type Flavor = "kube-flannel" | "k3s" | "rendered-delegate";

/** A cluster node: a flannel node (node.ts) plus its place in the cluster; plain data, saved as JSON. */
export interface NodeState extends FlannelNode {
  /** "node1", "node2", …: the name pods and the demo use (the namespace is `netns`). */
  name: string;
  /** Index of the node's /24 in the cluster CIDR (its flannel lease). */
  subnetIndex: number;
  underlayIp: string;
  vtepMac?: string;
}

export interface PodState {
  name: string;
  node: string;
  netns: string;
  containerId: string;
  /** Capability args the runtime sends with the cluster network's ADD and DEL (k3s: the bandwidth annotations). */
  capArgs?: Record<string, unknown>;
  address?: string;
  /** How long the cluster network's ADD took through libcni (cnitool process included), ms. */
  addMs?: number;
}

export interface ClusterState {
  id: string;
  baseDir: string;
  backend: Backend;
  flavor: Flavor;
  clusterCidr: string;
  underlayCidr: string;
  networkName: string;
  /** CNI_PATH of every node: the sandbox's installed plugin executables. */
  binDir: string;
  cnitool: string;
  /** Network namespaces this cluster created, in creation order (teardown deletes exactly these). */
  netns: string[];
  nodes: NodeState[];
  pods: PodState[];
  createdAt: string;
}

export const STATE_FILE = "cluster.json";

export function baseDirFor(id: string): string {
  return join(tmpdir(), `cni-ts-cluster-${id}`);
}

export function saveState(state: ClusterState): void {
  const path = join(state.baseDir, STATE_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function loadState(id: string): ClusterState {
  if (!/^[a-z0-9]{4,16}$/.test(id))
    throw new Error(`${JSON.stringify(id)} is not a cluster id (as printed by scripts/demo --keep)`);
  const path = join(baseDirFor(id), STATE_FILE);
  if (!existsSync(path)) throw new Error(`no cluster ${id}: ${path} does not exist (already torn down?)`);
  const state = JSON.parse(readFileSync(path, "utf8")) as ClusterState;
  // Teardown deletes what the file names: accept only this cluster's own names and directory.
  const ours = (ns: unknown) => typeof ns === "string" && ns.startsWith(`${netnsPrefix(id)}-`);
  const pods = Array.isArray(state.pods) ? state.pods : [];
  if (
    state.id !== id ||
    state.baseDir !== baseDirFor(id) ||
    !Array.isArray(state.netns) ||
    !state.netns.every(ours) ||
    !pods.every((p) => ours(p.netns))
  ) {
    throw new Error(
      `${path} does not describe cluster ${id} (names outside ${netnsPrefix(id)}-*): not touching anything`,
    );
  }
  return state;
}

/** Every namespace of a cluster is named `flc-<id>-…`. */
export function netnsPrefix(id: string): string {
  return `flc-${id}`;
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}
