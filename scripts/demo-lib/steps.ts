/** The demo's steps after the cluster exists: pods, pings, the summary, DEL and its check. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nodeSubnetOf } from "../../conformance-tests/lib/cluster/cluster.js";
import { formatCidr } from "../../conformance-tests/lib/cluster/addressing.js";
import {
  type NodeView,
  formatRoute,
  linkNamed,
  nodeView,
  reservations,
} from "../../conformance-tests/lib/cluster/inspect.js";
import { inNetns, ipJson, sh } from "../../conformance-tests/lib/run-command.js";
import { type PingResult, addPod, deletePod, ping, podMtu } from "../../conformance-tests/lib/cluster/pods.js";
import type { ClusterState, PodState } from "../../conformance-tests/lib/cluster/state.js";
import { ifbName } from "../../plugins/bandwidth/tbf-params.js";
import { type Clock, ms, table } from "./table.js";

export interface Run {
  state: ClusterState;
  log: (line: string) => void;
  clock: Clock;
  addTimes: number[];
  delTimes: number[];
  /** Node views before any pod: what DEL of every pod must return each node to (cni0 aside). */
  baseline?: Map<string, NodeView>;
}

export interface Reach extends PingResult {
  fromPod: PodState;
  toPod: PodState;
  sameNode: boolean;
}

const label = (p: PodState) => `${p.node}/${p.name}`;

function chainOf(state: ClusterState): string {
  if (state.flavor === "k3s") return "libcni -> flannel -> bridge -> host-local, then portmap, then bandwidth";
  return state.flavor === "kube-flannel"
    ? "libcni -> flannel -> bridge -> host-local, then portmap"
    : "libcni -> bridge -> host-local, then portmap";
}

/**
 * What kubelet hands the runtime for kubernetes.io/ingress-bandwidth and egress-bandwidth: 10M
 * (bits per second, a burst of MaxInt32 bits: "no limit"), in containerd's untagged spelling.
 */
const ANNOTATED = {
  bandwidth: {
    IngressRate: 10_000_000,
    IngressBurst: 2_147_483_647,
    EgressRate: 10_000_000,
    EgressBurst: 2_147_483_647,
  },
};

export async function addPods(run: Run, perNode: number): Promise<void> {
  run.baseline = new Map();
  for (const node of run.state.nodes) run.baseline.set(node.name, await nodeView(node));
  for (const node of run.state.nodes) {
    for (let i = 1; i <= perNode; i++) {
      const annotated = run.state.flavor === "k3s" && i === 1;
      const pod = await addPod(run.state, node.name, `pod-${i}`, annotated ? ANNOTATED : undefined);
      run.addTimes.push(pod.addMs ?? 0);
      const shaped = annotated ? "; bandwidth annotations 10M each way" : "";
      run.log(
        `${node.name}: ADD ${pod.name} -> ${pod.address} (${ms(pod.addMs ?? 0)}: ${chainOf(run.state)}${shaped})`,
      );
    }
  }
}

/** Every pod pings every other pod's address (all at once; only sandbox addresses). */
export async function checkConnectivity(run: Run): Promise<Reach[]> {
  const pods = run.state.pods;
  const pairs = pods.flatMap((a) => pods.filter((b) => b !== a).map((b) => [a, b] as const));
  const t = run.clock.elapsed();
  const results = await inBatches(pairs, 16, async ([a, b]) => ({
    ...(await ping(a, b.address!)),
    fromPod: a,
    toPod: b,
    sameNode: a.node === b.node,
  }));
  const ok = results.filter((r) => r.ok).length;
  run.log(`pinged ${pairs.length} pod pairs in ${ms(run.clock.elapsed() - t)}: ${ok} reached`);
  return results;
}

/** Runs `fn` over `items`, at most `width` at a time, keeping the order. */
async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

interface TcQdisc {
  kind: string;
  dev: string;
  root?: boolean;
  options?: { rate?: number };
}

const mbit = (bytesPerSecond = 0) => `${((bytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s`;

/** For each pod the runtime sent bandwidth for: the tbf on its veth and on its ifb, as the kernel reports them. */
async function shapingRows(state: ClusterState): Promise<string[][]> {
  const rows = [
    ["pod", "towards the pod (tbf on the host veth)", "from the pod (veth ingress -> ifb, tbf on the ifb)"],
  ];
  for (const pod of state.pods.filter((p) => p.capArgs)) {
    const node = state.nodes.find((n) => n.name === pod.node)!;
    const [eth0] = await ipJson<{ link_index?: number }>(pod.netns, ["link", "show", "dev", "eth0"]);
    const hostLinks = await ipJson<{ ifindex: number; ifname: string }>(node.netns, ["link", "show"]);
    const veth = hostLinks.find((l) => l.ifindex === eth0?.link_index)?.ifname ?? "?";
    const tc = await sh(inNetns(node.netns, ["tc", "-j", "qdisc", "show"]), { duringTeardown: true });
    const qdiscs = JSON.parse(tc.stdout || "[]") as TcQdisc[];
    const tbfOn = (dev: string) => qdiscs.find((q) => q.dev === dev && q.kind === "tbf" && q.root);
    const ifb = ifbName(state.networkName, pod.containerId);
    const [towards, from] = [tbfOn(veth), tbfOn(ifb)];
    const redirected = qdiscs.some((q) => q.dev === veth && q.kind === "ingress");
    rows.push([
      label(pod),
      towards ? `${mbit(towards.options?.rate)} on ${veth}` : "none",
      from && redirected ? `${mbit(from.options?.rate)} on ${ifb}` : "none",
    ]);
  }
  return rows;
}

/** Beyond this many pods the who-reached-whom matrix is replaced by the list of failures. */
const MATRIX_MAX_PODS = 10;

export async function printSummary(run: Run, reach: Reach[]): Promise<void> {
  const { state } = run;
  const out: string[] = [
    "",
    `=== cluster ${state.id}: flannel ${state.backend}, cluster CIDR ${state.clusterCidr} ===`,
    "",
  ];
  const views = new Map<string, NodeView>();
  for (const node of state.nodes) views.set(node.name, await nodeView(node));

  const nodeRows = [
    [
      "node",
      "netns",
      "underlay (eth0)",
      "FLANNEL_SUBNET",
      "FLANNEL_MTU",
      "cni0",
      state.backend === "vxlan" ? "flannel.1" : "",
    ],
  ];
  for (const node of state.nodes) {
    const v = views.get(node.name)!;
    const env = readFileSync(node.subnetFile, "utf8");
    const vtep = linkNamed(v, "flannel.1");
    nodeRows.push([
      node.name,
      node.netns,
      node.underlayIp,
      /FLANNEL_SUBNET=(.*)/.exec(env)?.[1] ?? "?",
      /FLANNEL_MTU=(.*)/.exec(env)?.[1] ?? "?",
      linkNamed(v, "cni0")?.addresses.join(",") || "(none)",
      vtep ? `${vtep.addresses.join(",")} mtu ${vtep.mtu} mac ${node.vtepMac}` : "",
    ]);
  }
  out.push("Nodes", table(nodeRows), "");

  out.push("Routes in each node's namespace");
  for (const node of state.nodes) {
    const routes = views.get(node.name)!.routes;
    out.push(table(routes.map((r, i) => [i === 0 ? `${node.name}:` : "", r])));
  }
  out.push("");

  const podRows = [["pod", "address", "eth0 mtu", "node subnet", "netns (ip netns exec NAME sh)"]];
  for (const pod of state.pods) {
    const node = state.nodes.find((n) => n.name === pod.node)!;
    podRows.push([
      label(pod),
      pod.address ?? "?",
      String(await podMtu(pod)),
      formatCidr(nodeSubnetOf(state, node)),
      pod.netns,
    ]);
  }
  out.push("Pods", table(podRows), "");
  const shaping = await shapingRows(state);
  if (shaping.length > 1) out.push("Traffic shaping by bandwidth (tc on the node)", table(shaping), "");
  const first = state.pods[0];
  if (first) {
    const routes = await ipJson<Parameters<typeof formatRoute>[0]>(first.netns, ["route", "show"]);
    out.push(`Routes inside ${label(first)}: ${routes.map(formatRoute).join("; ")}`, "");
    const node = state.nodes.find((n) => n.name === first.node)!;
    const saved = join(node.flannelDataDir, first.containerId);
    if (state.flavor !== "rendered-delegate" && existsSync(saved)) {
      out.push(
        `What flannel handed to bridge for ${label(first)} (saved as ${saved}):`,
        `  ${readFileSync(saved, "utf8").trim()}`,
        "",
      );
    }
  }

  if (state.pods.length <= MATRIX_MAX_PODS) {
    out.push("Who reached whom (ping, 3 echo requests; ok = replies came back)");
    const header = ["from \\ to", ...state.pods.map(label)];
    const rows = state.pods.map((a) => [
      label(a),
      ...state.pods.map((b) => {
        if (a === b) return "-";
        const r = reach.find((x) => x.fromPod === a && x.toPod === b)!;
        return r.ok ? `ok ${r.rttMs?.toFixed(2) ?? "?"}ms` : "FAILED";
      }),
    ]);
    out.push(table([header, ...rows]), "");
  } else {
    const failed = reach.filter((r) => !r.ok);
    out.push(
      `Pings between all ${state.pods.length} pods (3 echo requests each): ${failed.length ? "these FAILED:" : "all answered"}`,
    );
    for (const f of failed) out.push(`  ${label(f.fromPod)} -> ${label(f.toPod)} (${f.to})`);
    out.push("");
  }

  const same = reach.filter((r) => r.sameNode);
  const cross = reach.filter((r) => !r.sameNode);
  const count = (xs: Reach[]) => `${xs.filter((x) => x.ok).length}/${xs.length}`;
  out.push(
    same.length
      ? `Same node:  ${count(same)} pod pairs reached each other over cni0`
      : "Same node:  - (one pod per node)",
    `Cross node: ${count(cross)} pod pairs reached each other over ${state.backend === "vxlan" ? "flannel.1 (VXLAN VNI 1, UDP 8472)" : "direct routes via the other node's eth0"}`,
    `ADD of the ${state.networkName} network per pod (${chainOf(state)}; the cnitool process included): ${timingLine(run.addTimes)}`,
    "",
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

function timingLine(times: number[]): string {
  if (!times.length) return "-";
  const sorted = [...times].sort((a, b) => a - b);
  return `${times.length} calls, median ${ms(sorted[Math.floor(sorted.length / 2)]!)}, max ${ms(sorted[sorted.length - 1]!)}`;
}

/** DEL of every pod through libcni, then a check that the nodes are back to their state before the pods. */
export async function deleteAllPods(run: Run): Promise<boolean> {
  const { state } = run;
  for (const pod of [...state.pods]) {
    const t = run.clock.elapsed();
    await deletePod(state, pod);
    run.delTimes.push(run.clock.elapsed() - t);
  }
  run.log(`DEL of every pod through libcni: ${timingLine(run.delTimes)}`);
  const problems: string[] = [];
  for (const node of state.nodes) {
    const before = run.baseline?.get(node.name);
    const after = await nodeView(node);
    const leftLinks = after.links.filter((l) => l.name !== "cni0" && !before?.links.some((b) => b.name === l.name));
    if (leftLinks.length)
      problems.push(`${node.name} still has ${leftLinks.map((l) => `${l.name} (${l.kind})`).join(", ")}`);
    if (reservations(after).length) problems.push(`${node.name} still reserves ${reservations(after).join(", ")}`);
    if (after.flannelFiles.length)
      problems.push(`${node.name} still has saved flannel configs ${after.flannelFiles.join(", ")}`);
    if (after.cacheFiles.some((f) => f.startsWith("results/")))
      problems.push(`${node.name} libcni cache still holds results`);
    const newRules = after.iptables.filter((r) => !before?.iptables.includes(r));
    if (newRules.length) problems.push(`${node.name} has new firewall rules: ${newRules.join(" | ")}`);
  }
  for (const p of problems) run.log(`LEFT BEHIND: ${p}`);
  if (!problems.length) {
    const ifb = state.flavor === "k3s" ? ", ifb device" : "";
    run.log(
      `after DEL: no pod veth${ifb}, reservation, saved flannel config, cached result or firewall rule is left on any node (cni0 stays, as with the reference bridge)`,
    );
  }
  return problems.length === 0;
}

export function printKeepHelp(state: ClusterState): void {
  const [a, b] = [state.pods[0], state.pods.find((p) => p.node !== state.pods[0]?.node)];
  const lines = [
    `The cluster is left running (--keep). Cluster id: ${state.id}`,
    `  enter a pod:          ip netns exec ${a?.netns} sh`,
    b ? `  ping across nodes:    ip netns exec ${a?.netns} ping -c 3 ${b.address}` : "",
    `  look at a node:       ip -n ${state.nodes[0]?.netns} route` +
      (state.backend === "vxlan" ? `; ip -n ${state.nodes[0]?.netns} -d link show flannel.1` : ""),
    `  node files:           ${state.baseDir}/node1/{run/flannel/subnet.env,etc/cni/net.d,var/lib/cni}`,
    `  tear it down:         scripts/demo --teardown ${state.id}`,
  ];
  process.stdout.write(`${lines.filter(Boolean).join("\n")}\n`);
}
