/**
 * The suite as operators meet it: two flannel nodes (network namespaces joined by an underlay,
 * flanneld's part played per node), our executables driven by libcni through the kube-flannel
 * conflist, pods on both nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contains, formatCidr, hostAddress, nodeSubnet, parseCidr } from "./lib/cluster/addressing.js";
import { type NodeView, linkNamed, linkPackets, nodeView, reservations } from "./lib/cluster/inspect.js";
import { flannelMtu, peerLines, programPeers } from "./lib/cluster/flanneld.js";
import { ipBatch } from "./lib/run-command.js";
import { addPod, deletePod, nodeByName, ping, podMtu } from "./lib/cluster/pods.js";
import type { ClusterState, PodState } from "./lib/cluster/state.js";
import { createCluster, leaseOf, nodeSubnetOf, rejoinNode, teardownCluster } from "./lib/cluster/cluster.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { OURS_BIN, REFERENCE_BIN } from "./lib/paths.js";

// vxlan on kube-flannel's default network, host-gw on k3s's (10.42.0.0/16).
const setups = [
  { backend: "vxlan", clusterCidr: "10.244.0.0/16" },
  { backend: "host-gw", clusterCidr: "10.42.0.0/16" },
] as const;

for (const { backend, clusterCidr } of setups) {
  describe(`two-node flannel cluster, backend ${backend}, cluster ${clusterCidr}`, () => {
    let state: ClusterState;
    const baseline = new Map<string, NodeView>();
    const pods: Record<string, PodState> = {};

    beforeAll(async () => {
      const cnitool = await ensureCnitool();
      state = await createCluster({ backend, clusterCidr, pluginDir: OURS_BIN, cnitool });
      for (const node of state.nodes) baseline.set(node.name, await nodeView(node));
    });

    afterAll(async () => {
      if (state) expect(await teardownCluster(state)).toEqual([]);
    });

    it("ADD puts each pod in its node's FLANNEL_SUBNET, behind cni0 at the subnet's .1", async () => {
      for (const node of ["node1", "node2"]) {
        for (const name of ["a", "b"]) pods[`${node}-${name}`] = await addPod(state, node, name);
      }
      for (const node of state.nodes) {
        const subnet = nodeSubnetOf(state, node);
        const view = await nodeView(node);
        expect(linkNamed(view, "cni0")?.addresses).toEqual([`${hostAddress(subnet, 1)}/24`]);
        for (const pod of state.pods.filter((p) => p.node === node.name)) {
          expect(contains(subnet, pod.address!), `${pod.name} ${pod.address} in ${formatCidr(subnet)}`).toBe(true);
        }
      }
      expect(new Set(state.pods.map((p) => p.address)).size).toBe(4);
    });

    it("pods on the same node reach each other", async () => {
      for (const [from, to] of [
        ["node1-a", "node1-b"],
        ["node2-b", "node2-a"],
      ] as const) {
        expect(await ping(pods[from]!, pods[to]!.address!)).toMatchObject({ ok: true });
      }
    });

    it(`pods on different nodes reach each other, in both directions, over ${backend === "vxlan" ? "flannel.1" : "eth0"}`, async () => {
      const pairs = [
        ["node1-a", "node2-a"],
        ["node2-a", "node1-a"],
        ["node1-b", "node2-b"],
        ["node2-b", "node1-a"],
      ] as const;
      const dev = backend === "vxlan" ? "flannel.1" : "eth0";
      const node1 = nodeByName(state, "node1").netns;
      const before = await linkPackets(node1, dev);
      const results = await Promise.all(pairs.map(([f, t]) => ping(pods[f]!, pods[t]!.address!)));
      expect(results.map((r) => r.ok)).toEqual(pairs.map(() => true));
      // 4 pairs x 3 echo requests, half of them leaving node1 and half answered by it: over `dev`.
      const after = await linkPackets(node1, dev);
      expect(after.tx - before.tx).toBeGreaterThanOrEqual(12);
      expect(after.rx - before.rx).toBeGreaterThanOrEqual(12);
    });

    it("cross-node traffic really takes flanneld's route (without it the ping fails)", async () => {
      const node1 = leaseOf(state, nodeByName(state, "node1"));
      const peer = leaseOf(state, nodeByName(state, "node2"));
      await ipBatch(node1.netns, [peerLines(backend, peer, "del").ip[0]!]); // the route only
      try {
        expect((await ping(pods["node1-a"]!, pods["node2-a"]!.address!)).ok).toBe(false);
      } finally {
        await programPeers(backend, node1, [peer]);
      }
      expect((await ping(pods["node1-a"]!, pods["node2-a"]!.address!)).ok).toBe(true);
    });

    it("a pod reaches the other node's cni0 address", async () => {
      const other = nodeSubnetOf(state, nodeByName(state, "node2"));
      expect((await ping(pods["node1-a"]!, hostAddress(other, 1))).ok).toBe(true);
    });

    it(`the pod's eth0 has FLANNEL_MTU (${flannelMtu(backend)})`, async () => {
      for (const pod of state.pods) expect(await podMtu(pod)).toBe(flannelMtu(backend));
    });

    it("DEL of every pod leaves no link, address, route, rule, reservation or saved config on either node", async () => {
      for (const pod of [...state.pods]) await deletePod(state, pod);
      for (const node of state.nodes) {
        const before = baseline.get(node.name)!;
        const after = await nodeView(node);
        // The bridge stays (as with the reference bridge); everything else is as before the first pod.
        expect(after.links.filter((l) => l.name !== "cni0")).toEqual(before.links);
        expect(after.routes.filter((r) => !r.includes("dev cni0"))).toEqual(before.routes);
        expect(after.iptables).toEqual(before.iptables);
        expect(reservations(after)).toEqual([]);
        expect(after.flannelFiles).toEqual([]);
        expect(after.cacheFiles.filter((f) => f.startsWith("results"))).toEqual([]);
      }
    });

    it("a node that re-joined the cluster with a new subnet gets working pods again, no manual cleanup", async () => {
      // Everything was deleted on node1 above; cni0 still holds the old lease's gateway.
      const moved = nodeByName(state, "node1");
      const oldGateway = `${hostAddress(nodeSubnetOf(state, moved), 1)}/24`;
      await rejoinNode(state, "node1", 7);
      expect(linkNamed(await nodeView(moved), "cni0")?.addresses).toEqual([oldGateway]); // the stale address is there
      const subnet = nodeSubnetOf(state, moved);
      expect(formatCidr(subnet)).toBe(formatCidr(nodeSubnet(parseCidr(state.clusterCidr), 7)));

      const fresh = await addPod(state, "node1", "after-rejoin");
      const peer = await addPod(state, "node2", "peer");
      expect(contains(subnet, fresh.address!)).toBe(true);
      const cni0 = linkNamed(await nodeView(moved), "cni0")!;
      expect(cni0.addresses).toEqual([`${hostAddress(subnet, 1)}/24`]);
      expect(cni0.addresses).not.toContain(oldGateway);
      expect((await ping(fresh, peer.address!)).ok).toBe(true);
      expect((await ping(peer, fresh.address!)).ok).toBe(true);
      for (const pod of [fresh, peer]) await deletePod(state, pod);
    });
  });
}

describe("the same re-join with Debian's Go plugins (the config flannel would render)", () => {
  it("fails the way upstream does (cni0 keeps the old gateway): the scenario above is the real one", async () => {
    const state = await createCluster({
      backend: "host-gw",
      pluginDir: REFERENCE_BIN,
      cnitool: await ensureCnitool(),
      flavor: "rendered-delegate",
    });
    try {
      await deletePod(state, await addPod(state, "node1", "before"));
      await rejoinNode(state, "node1", 7);
      await expect(addPod(state, "node1", "after")).rejects.toThrow(
        /"cni0" already has an IP address different from 10\.244\.7\.1\/24/,
      );
    } finally {
      expect(await teardownCluster(state)).toEqual([]);
    }
  });
});
