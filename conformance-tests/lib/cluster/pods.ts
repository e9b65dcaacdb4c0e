/**
 * Pods of the sandbox cluster: a network namespace each, attached the way a runtime on the node
 * would do it — the libcni client (cnitool) run inside the node's namespace, loopback first.
 */
import { inNetns, ipJson, sh } from "../run-command.js";
import { LOOPBACK_NETWORK } from "./conflist.js";
import { type ClusterState, type NodeState, type PodState, netnsPath, saveState } from "./state.js";

export const POD_IFNAME = "eth0";

function cniEnv(state: ClusterState, node: NodeState, pod: PodState, ifname: string): Record<string, string> {
  return {
    NETCONFPATH: node.confDir,
    CNI_PATH: state.binDir,
    CNI_CACHE_DIR: node.cacheDir,
    CNI_CONTAINERID: pod.containerId,
    CNI_IFNAME: ifname,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
    ...(pod.capArgs && ifname === POD_IFNAME ? { CAP_ARGS: JSON.stringify(pod.capArgs) } : {}),
  };
}

export function nodeByName(state: ClusterState, name: string): NodeState {
  const node = state.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name} in cluster ${state.id}`);
  return node;
}

async function cnitool(state: ClusterState, pod: PodState, verb: "add" | "del", network: string, teardown = false) {
  const node = nodeByName(state, pod.node);
  const ifname = network === LOOPBACK_NETWORK ? "lo" : POD_IFNAME;
  return sh(inNetns(node.netns, [state.cnitool, verb, network, netnsPath(pod.netns)]), {
    env: cniEnv(state, node, pod, ifname),
    duringTeardown: teardown,
  });
}

/** Creates the pod's namespace and runs ADD (loopback, then the cluster network); returns its address. */
export async function addPod(
  state: ClusterState,
  nodeName: string,
  name: string,
  capArgs?: Record<string, unknown>,
): Promise<PodState> {
  const node = nodeByName(state, nodeName);
  const pod: PodState = {
    name,
    node: node.name,
    netns: `${node.netns}-${name}`,
    containerId: `${state.id}-${node.name}-${name}`,
    ...(capArgs && { capArgs }),
  };
  await sh(["ip", "netns", "add", pod.netns]);
  state.netns.push(pod.netns);
  state.pods.push(pod);
  saveState(state);
  await cnitool(state, pod, "add", LOOPBACK_NETWORK);
  const started = performance.now();
  const out = await cnitool(state, pod, "add", state.networkName);
  pod.addMs = Math.round(performance.now() - started);
  pod.address = podAddressFromResult(out.stdout, netnsPath(pod.netns));
  saveState(state);
  return pod;
}

/** The pod's IPv4 address from a CNI result (any version): the ip on the interface in the pod's netns. */
export function podAddressFromResult(stdout: string, sandbox: string): string {
  const r = JSON.parse(stdout) as {
    interfaces?: { sandbox?: string }[];
    ips?: { address: string; interface?: number; version?: string }[];
  };
  const inPod = (i?: number) => i !== undefined && r.interfaces?.[i]?.sandbox === sandbox;
  const ip = r.ips?.find((x) => inPod(x.interface) && !x.address.includes(":")) ?? r.ips?.[0];
  if (!ip) throw new Error(`the ADD result has no IP address: ${stdout}`);
  return ip.address.split("/")[0]!;
}

/** DEL through libcni (cluster network, then loopback) and removal of the pod's namespace. */
export async function deletePod(state: ClusterState, pod: PodState, opts: { teardown?: boolean } = {}): Promise<void> {
  const errors: string[] = [];
  for (const network of [state.networkName, LOOPBACK_NETWORK]) {
    try {
      await cnitool(state, pod, "del", network, opts.teardown);
    } catch (e) {
      if (!opts.teardown) throw e;
      errors.push(e instanceof Error ? e.message.split("\n")[0]! : String(e));
    }
  }
  await sh(["ip", "netns", "del", pod.netns], { check: !opts.teardown, duringTeardown: opts.teardown });
  state.netns = state.netns.filter((n) => n !== pod.netns);
  state.pods = state.pods.filter((p) => p !== pod && p.netns !== pod.netns);
  saveState(state);
  if (errors.length) throw new Error(errors.join("; "));
}

export interface PingResult {
  from: string;
  to: string;
  ok: boolean;
  /** Average round trip in ms, when a reply came. */
  rttMs?: number;
}

/** Pings `address` from inside the pod: three echo requests, success if any reply. */
export async function ping(pod: PodState, address: string): Promise<PingResult> {
  const r = await sh(inNetns(pod.netns, ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2", address]), {
    check: false,
  });
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return { from: pod.name, to: address, ok: r.status === 0, ...(rtt ? { rttMs: Number(rtt[1]) } : {}) };
}

export async function podMtu(pod: PodState): Promise<number> {
  const [link] = await ipJson<{ mtu: number }>(pod.netns, ["link", "show", "dev", POD_IFNAME]);
  if (!link) throw new Error(`pod ${pod.name} has no ${POD_IFNAME}`);
  return link.mtu;
}
