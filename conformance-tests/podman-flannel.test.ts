import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { contains, hostAddress } from "./lib/cluster/addressing.js";
import { linkNamed, nodeView, reservations } from "./lib/cluster/inspect.js";
import { addPod, nodeByName } from "./lib/cluster/pods.js";
import type { ClusterState, NodeState, PodState } from "./lib/cluster/state.js";
import { createCluster, nodeSubnetOf, teardownCluster } from "./lib/cluster/cluster.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { OURS_BIN } from "./lib/paths.js";
import { inNetns, sh } from "./lib/run-command.js";
import { PodmanSandbox, WEB_PAGE, ensurePodmanPackages } from "./lib/runtimes/podman.js";

const HOST_PORT = 18080;
import { type RootSnapshot, rootChanges, rootSnapshot } from "./lib/observe.js";

/**
 * A real runtime: podman 4 with its CNI backend drives our executables through the kube-flannel
 * conflist on node1 of a two-node vxlan sandbox cluster; node2 has a pod attached by libcni.
 */
describe("podman (CNI backend) on a flannel node", () => {
  let state: ClusterState;
  let node1: NodeState;
  let podman: PodmanSandbox;
  let remote: PodState;
  let rootBefore: RootSnapshot;
  let firewallBefore: string[];
  let etcCniBefore: string[];
  let sharedBefore: string[];

  beforeAll(async () => {
    await ensurePodmanPackages();
    const cnitool = await ensureCnitool();
    rootBefore = await rootSnapshot();
    etcCniBefore = listing("/etc/cni/net.d");
    sharedBefore = ["/var/lib/containers", "/run/libpod"].filter((d) => existsSync(d));
    state = await createCluster({ backend: "vxlan", pluginDir: OURS_BIN, cnitool });
    node1 = nodeByName(state, "node1");
    remote = await addPod(state, "node2", "remote");
    podman = new PodmanSandbox(state, node1);
    await podman.setUp();
    firewallBefore = (await nodeView(node1)).iptables;
  }, 900_000);

  afterAll(async () => {
    const left = podman ? await podman.tearDown() : [];
    const problems = state ? await teardownCluster(state) : [];
    expect({ podmanLeftovers: left, teardown: problems }).toEqual({ podmanLeftovers: [], teardown: [] });
  });

  it("two containers get addresses from FLANNEL_SUBNET and reach each other", async () => {
    const c1 = await podman.run("c1");
    const c2 = await podman.run("c2");
    const [a1, a2] = [await podman.address("c1"), await podman.address("c2")];
    const subnet = nodeSubnetOf(state, node1);
    expect(contains(subnet, a1), a1).toBe(true);
    expect(contains(subnet, a2), a2).toBe(true);
    expect(a1).not.toBe(a2);
    expect(await podman.ping("c1", a2)).toBe(true);
    expect(await podman.ping("c2", a1)).toBe(true);
    // libcni's cache went to podman's private /var/lib/cni, not the machine's.
    expect(podman.cachedResults()).toHaveLength(2);
    // Our flannel ran (its saved delegate configs, one per container) and the bridge it delegated
    // to is in the node's namespace, with the node's gateway.
    const view = await nodeView(node1);
    expect(view.flannelFiles.sort()).toEqual([c1.id, c2.id].sort());
    expect(linkNamed(view, "cni0")?.addresses).toEqual([`${hostAddress(subnet, 1)}/24`]);
  });

  it("a container reaches a pod on the other node over flannel.1", async () => {
    expect(await podman.ping("c1", remote.address!)).toBe(true);
  });

  it("a published port (-p, portmap from the kube-flannel conflist) answers on node1's address from node2", async () => {
    await podman.run("web", {
      publish: `${HOST_PORT}:8080`,
      command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"],
    });
    const url = `http://${node1.underlayIp}:${HOST_PORT}/index.html`;
    const node2 = nodeByName(state, "node2");
    const r = await sh(inNetns(node2.netns, ["busybox", "wget", "-q", "-O", "-", url]), {
      check: false,
      timeoutMs: 20_000,
    });
    expect(r.stdout.trim(), r.stderr).toBe(WEB_PAGE);
  });

  it("podman restart (DEL then ADD in a new netns) keeps working and leaks no address", async () => {
    await podman.podman(["restart", "-t", "0", "c1"]);
    await podman.rememberSandboxKey("c1");
    const a1 = await podman.address("c1");
    expect(contains(nodeSubnetOf(state, node1), a1)).toBe(true);
    expect(await podman.ping("c2", a1)).toBe(true);
    expect(await podman.ping("c1", remote.address!)).toBe(true);
    // host-local on node1 holds exactly the three containers' addresses.
    const held = reservations(await nodeView(node1)).sort();
    expect(held).toEqual([a1, await podman.address("c2"), await podman.address("web")].sort());
  });

  it("a container that exits by itself is released by conmon's cleanup (a DEL with a minimal environment)", async () => {
    await podman.run("short", { command: ["/bin/true"] });
    await podman.podman(["wait", "short"]);
    // conmon runs `podman container cleanup` after the exit; give it a bounded moment.
    const deadline = Date.now() + 30_000;
    let held = reservations(await nodeView(node1));
    while (held.length > 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      held = reservations(await nodeView(node1));
    }
    expect(held).toHaveLength(3); // c1, c2, web: the exited container's address is free again
    expect((await nodeView(node1)).flannelFiles).toHaveLength(3);
    await podman.podman(["rm", "short"]);
  });

  it("podman rm releases the addresses, veths, saved configs, libcni cache and netns", async () => {
    await podman.podman(["rm", "-f", "-t", "0", "c1", "c2", "web"]);
    const view = await nodeView(node1);
    // portmap's per-container chains went with "web"; only its shared top-level chains stay (as upstream's do).
    const newRules = view.iptables.filter((l) => !firewallBefore.includes(l));
    expect(newRules.filter((l) => !isSharedPortmapLine(l))).toEqual([]);
    expect(view.iptables.filter((l) => l.includes(String(HOST_PORT)))).toEqual([]);
    expect(reservations(view)).toEqual([]);
    expect(view.flannelFiles).toEqual([]);
    expect(view.links.filter((l) => l.kind === "veth" && l.name !== "eth0")).toEqual([]);
    expect(podman.cachedResults()).toEqual([]);
    expect([...podman.sandboxKeys].filter((k) => existsSync(k))).toEqual([]);
  });

  it("the machine's root network namespace gained no link or route and kept its forwarding sysctls", async () => {
    expect(rootChanges(rootBefore, await rootSnapshot())).toEqual([]);
  });

  it("podman's private configuration kept it out of /etc/cni, /var/lib/containers and /run/libpod", () => {
    expect(listing("/etc/cni/net.d")).toEqual(etcCniBefore);
    expect(["/var/lib/containers", "/run/libpod"].filter((d) => existsSync(d) && !sharedBefore.includes(d))).toEqual(
      [],
    );
  });
});

/** The nat table's frame and portmap's shared chains (CNI-HOSTPORT-*), which upstream also keeps. */
function isSharedPortmapLine(line: string): boolean {
  return /^(\*nat|COMMIT|:[A-Z]+ ACCEPT)$/.test(line) || (line.includes("CNI-HOSTPORT-") && !line.includes("CNI-DN-"));
}

function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
