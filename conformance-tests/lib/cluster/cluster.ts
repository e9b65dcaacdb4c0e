/**
 * A two-node (or N-node) flannel cluster inside network namespaces: one namespace per node, an
 * underlay veth between them, flanneld's part played per node, the plugins installed into the
 * sandbox. Used by scripts/demo and the e2e tests. Creates nothing in the root namespace.
 */
import { PLUGIN_NAMES } from "../../../shared/plugins.js";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import {
  type Cidr,
  contains,
  formatCidr,
  hostAddress,
  nodeSubnet,
  parseCidr,
  parseClusterCidr,
  subnetCount,
  underlayFor,
} from "./addressing.js";
import { NETWORK_NAME, writeNodeConfigs } from "./conflist.js";
import { ipBatch, sh } from "../run-command.js";
import {
  type Backend,
  type NodeLease,
  UNDERLAY_DEVICE,
  UNDERLAY_MTU,
  createVtep,
  installForwardRules,
  programPeers,
  subnetEnvText,
  unprogramPeer,
  writeSubnetEnv,
} from "./flanneld.js";
import { deleteNetns } from "../netns.js";
import { findLeftovers } from "../teardown.js";
import { deletePod } from "./pods.js";
import { type ClusterState, type Flavor, type NodeState, baseDirFor, netnsPrefix, saveState } from "./state.js";

export interface ClusterOptions {
  backend: Backend;
  /** Default 10.244.0.0/16. */
  clusterCidr?: string;
  /** Directory holding bridge, host-local, flannel, loopback, portmap executables. */
  pluginDir: string;
  cnitool: string;
  /** Default "kube-flannel" (our flannel plugin); "k3s" adds bandwidth; "rendered-delegate" drives bridge directly. */
  flavor?: Flavor;
  nodes?: number;
  /**
   * Install with this script (scripts/install.sh: `install.sh DEST`, takes its own checkout's
   * dist/bin) instead of hard-linking pluginDir's files: the path a user takes.
   */
  installer?: string;
  /** Called after each setup step (demo progress output). */
  onStep?: (what: string) => void;
}

const PLUGINS = PLUGIN_NAMES;

export function leaseOf(state: ClusterState, node: NodeState): NodeLease {
  return {
    netns: node.netns,
    subnet: nodeSubnet(parseCidr(state.clusterCidr), node.subnetIndex),
    underlayIp: node.underlayIp,
    ...(node.vtepMac ? { vtepMac: node.vtepMac } : {}),
  };
}

export function nodeSubnetOf(state: ClusterState, node: NodeState): Cidr {
  return nodeSubnet(parseCidr(state.clusterCidr), node.subnetIndex);
}

/** Creates the cluster; on any failure removes what it had created and rethrows. */
export async function createCluster(opts: ClusterOptions): Promise<ClusterState> {
  const cluster = parseClusterCidr(opts.clusterCidr ?? "10.244.0.0/16");
  const nodeCount = opts.nodes ?? 2;
  if (nodeCount < 2 || nodeCount >= subnetCount(cluster))
    throw new Error(`cannot make ${nodeCount} nodes in ${formatCidr(cluster)}`);
  const id = randomBytes(4).toString("hex");
  const underlay = underlayFor(id);
  if (contains(cluster, hostAddress(underlay, 0)) || contains(underlay, hostAddress(cluster, 0))) {
    throw new Error(
      `cluster CIDR ${formatCidr(cluster)} overlaps the sandbox underlay ${formatCidr(underlay)}: choose another`,
    );
  }
  const baseDir = baseDirFor(id);
  mkdirSync(baseDir, { mode: 0o755 }); // fails if it exists: ids are never reused
  const state: ClusterState = {
    id,
    baseDir,
    backend: opts.backend,
    flavor: opts.flavor ?? "kube-flannel",
    clusterCidr: formatCidr(cluster),
    underlayCidr: formatCidr(underlay),
    networkName: NETWORK_NAME,
    binDir: join(baseDir, "opt/cni/bin"),
    cnitool: opts.cnitool,
    netns: [],
    nodes: [],
    pods: [],
    createdAt: new Date().toISOString(),
  };
  saveState(state);
  try {
    if (opts.installer) {
      await sh([opts.installer, state.binDir]);
      opts.onStep?.(`installed plugins into ${state.binDir} with ${relative(process.cwd(), opts.installer)}`);
    } else {
      installPlugins(
        opts.pluginDir,
        state.binDir,
        state.flavor !== "rendered-delegate" ? PLUGINS : PLUGINS.filter((p) => p !== "flannel"),
      );
      opts.onStep?.(`installed plugins into ${state.binDir}`);
    }
    for (let i = 1; i <= nodeCount; i++) await createNode(state, i, underlay);
    await connectUnderlay(state);
    opts.onStep?.(`created ${nodeCount} node namespaces joined by an underlay on ${state.underlayCidr}`);
    await startFlanneld(state);
    opts.onStep?.(`played flanneld (${state.backend}) on every node`);
    return state;
  } catch (e) {
    await teardownCluster(state).catch(() => {});
    throw e;
  }
}

/** Hard links the plugin executables into the sandbox (a copy across file systems). */
function installPlugins(from: string, to: string, names: readonly string[]): void {
  mkdirSync(to, { recursive: true });
  for (const name of names) {
    const src = join(from, name);
    if (!existsSync(src)) throw new Error(`${src} is missing: run npm run build`);
    try {
      linkSync(src, join(to, name));
    } catch {
      copyFileSync(src, join(to, name));
    }
  }
}

async function createNode(state: ClusterState, index: number, underlay: Cidr): Promise<void> {
  const name = `node${index}`;
  const dir = join(state.baseDir, name);
  const node: NodeState = {
    name,
    netns: `${netnsPrefix(state.id)}-${name}`,
    subnetIndex: index,
    underlayIp: hostAddress(underlay, index),
    dir,
    subnetFile: join(dir, "run/flannel/subnet.env"),
    confDir: join(dir, "etc/cni/net.d"),
    cacheDir: join(dir, "var/lib/cni/cache"),
    flannelDataDir: join(dir, "var/lib/cni/flannel"),
    ipamDataDir: join(dir, "var/lib/cni/networks"),
  };
  await sh(["ip", "netns", "add", node.netns]);
  state.netns.push(node.netns);
  state.nodes.push(node);
  saveState(state);
  await ipBatch(node.netns, ["link set lo up"]);
}

/**
 * Two nodes: one veth, eth0 on both ends. More: every node's eth0 is a port of a bridge in an extra
 * "switch" namespace (not in a node, whose FORWARD policy would drop the bridged VXLAN packets).
 */
async function connectUnderlay(state: ClusterState): Promise<void> {
  const prefix = parseCidr(state.underlayCidr).prefix;
  const [first, second, ...more] = state.nodes;
  if (first && second && more.length === 0) {
    await sh([
      "ip",
      "-n",
      first.netns,
      "link",
      "add",
      UNDERLAY_DEVICE,
      "mtu",
      String(UNDERLAY_MTU),
      "type",
      "veth",
      "peer",
      "name",
      UNDERLAY_DEVICE,
      "netns",
      second.netns,
    ]);
  } else if (more.length > 0) {
    const sw = `${netnsPrefix(state.id)}-switch`;
    await sh(["ip", "netns", "add", sw]);
    state.netns.push(sw);
    saveState(state);
    await ipBatch(sw, ["link add br0 type bridge", "link set br0 up"]);
    for (const [i, node] of state.nodes.entries()) {
      const port = `n${i + 1}`;
      await sh([
        "ip",
        "-n",
        sw,
        "link",
        "add",
        port,
        "mtu",
        String(UNDERLAY_MTU),
        "master",
        "br0",
        "type",
        "veth",
        "peer",
        "name",
        UNDERLAY_DEVICE,
        "netns",
        node.netns,
      ]);
      await ipBatch(sw, [`link set ${port} up`]);
    }
  }
  for (const node of state.nodes) {
    await ipBatch(node.netns, [
      `address add ${node.underlayIp}/${prefix} dev ${UNDERLAY_DEVICE}`,
      `link set ${UNDERLAY_DEVICE} up`,
    ]);
  }
}

async function startFlanneld(state: ClusterState): Promise<void> {
  const cluster = parseCidr(state.clusterCidr);
  for (const node of state.nodes) {
    writeLease(state, node);
    if (state.backend === "vxlan") node.vtepMac = await createVtep(leaseOf(state, node));
    await installForwardRules(node.netns, cluster);
  }
  saveState(state);
  for (const node of state.nodes) {
    await programPeers(
      state.backend,
      leaseOf(state, node),
      peersOf(state, node).map((p) => leaseOf(state, p)),
    );
  }
}

function peersOf(state: ClusterState, node: NodeState): NodeState[] {
  return state.nodes.filter((n) => n !== node);
}

/** subnet.env (and the configs derived from the lease) for the node's current subnet. */
function writeLease(state: ClusterState, node: NodeState): void {
  const cluster = parseCidr(state.clusterCidr);
  const subnet = nodeSubnetOf(state, node);
  writeSubnetEnv(node.subnetFile, subnetEnvText(cluster, subnet, state.backend));
  writeNodeConfigs(node, state.flavor, cluster, subnet, state.backend);
}

/**
 * The node left and re-joined the cluster with another lease: flanneld writes a new subnet.env,
 * moves flannel.1's address, and every peer re-routes. cni0 keeps its old address — that is the
 * plugins' problem to heal on the next ADD.
 */
export async function rejoinNode(state: ClusterState, nodeName: string, newIndex: number): Promise<void> {
  const node = state.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  if (state.nodes.some((n) => n.subnetIndex === newIndex)) throw new Error(`subnet index ${newIndex} is taken`);
  const old = leaseOf(state, node);
  for (const peer of peersOf(state, node)) await unprogramPeer(state.backend, leaseOf(state, peer), old);
  node.subnetIndex = newIndex;
  const lease = leaseOf(state, node);
  if (state.backend === "vxlan") {
    // New address first: removing a device's last IPv4 address flushes its routes and neighbours.
    await ipBatch(node.netns, [
      `address add ${hostAddress(lease.subnet, 0)}/32 dev flannel.1`,
      `address del ${hostAddress(old.subnet, 0)}/32 dev flannel.1`,
    ]);
  }
  writeLease(state, node);
  saveState(state);
  for (const peer of peersOf(state, node)) await programPeers(state.backend, leaseOf(state, peer), [lease]);
  // flanneld re-syncs every lease when it starts again.
  await programPeers(
    state.backend,
    lease,
    peersOf(state, node).map((p) => leaseOf(state, p)),
  );
}

/**
 * Deletes exactly what the cluster created: DEL of every pod still attached (best effort), the
 * pod and node namespaces (which takes their links, routes and rules with them), the sandbox dir.
 */
export async function teardownCluster(state: ClusterState): Promise<string[]> {
  const problems: string[] = [];
  for (const pod of [...state.pods].reverse()) {
    await deletePod(state, pod, { teardown: true }).catch((e: Error) => problems.push(`pod ${pod.name}: ${e.message}`));
  }
  // The nodes' teardown is a sandbox node's (teardown.ts): exact names, then proof nothing is left.
  const netns = [...state.netns].reverse();
  for (const ns of netns) await deleteNetns(ns).catch((e: Error) => problems.push(e.message));
  state.netns = [];
  rmSync(state.baseDir, { recursive: true, force: true });
  const left = await findLeftovers({
    netns,
    dir: state.baseDir,
    uniqueNames: [],
    rootSysctlsAtStart: {},
    readRootSysctls: () => ({}),
  });
  problems.push(...left);
  return problems;
}

/** Files (not directories) under a sandbox directory, relative to it; [] when it does not exist. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
    .sort();
}
