/** Behaviour of our bridge beyond the side-by-side comparison: traffic, teardown, CHECK, healing, races. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bridgeNet, writeBridgeConf } from "./lib/bridge-scenarios.js";
import { swappablePlugins } from "./lib/bridge-swap.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { expectReachable } from "./lib/connectivity.js";
import { directAdd, directGc, directStatus } from "./lib/runtimes/direct.js";
import { deleteNetns } from "./lib/netns.js";
import { bridgePorts, cidrsOf, iptablesRules, link, links, nftRuleset, routes } from "./lib/observe.js";
import type { Impl } from "./lib/paths.js";
import { requireOursBuilt } from "./lib/paths.js";
import type { Pod, SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";

beforeAll(async () => {
  requireOursBuilt(["bridge", "host-local"]);
  await ensureCnitool();
});

const flannelLike = { mtu: 1450, isGateway: true, isDefaultGateway: true, hairpinMode: true };

function reservations(node: SandboxNode, network: string): string[] {
  try {
    return readdirSync(join(node.dataDir, network)).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"));
  } catch {
    return [];
  }
}

async function podLinksOnNode(node: SandboxNode, bridge: string): Promise<string[]> {
  return (await links(node)).filter((l) => l.master === bridge).map((l) => l.ifname);
}

/** Firewall lines that belong to pods: per-container chains and rules naming a container id. */
async function masqRules(node: SandboxNode): Promise<string> {
  const all = [await iptablesRules(node, 4), await iptablesRules(node, 6), await nftRuleset(node)].join("\n");
  return all
    .split("\n")
    .filter((l) => l.includes("CNI-") || l.includes(`cts-${node.token}`))
    .join("\n");
}

describe("our bridge", () => {
  const sandbox = useSandbox();

  it("connects two pods to each other and to the gateway, with hairpin on the ports", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.0.0", "v4", flannelLike);
    const [a, b] = [await node.addPod(), await node.addPod()];
    const ra = expectOk(await node.cnitool("add", network, a), "ADD a") as {
      ips: { address: string; gateway: string }[];
    };
    const rb = expectOk(await node.cnitool("add", network, b), "ADD b") as { ips: { address: string }[] };
    await expectReachable(a, rb.ips[0]!.address.split("/")[0]!);
    await expectReachable(b, ra.ips[0]!.address.split("/")[0]!);
    await expectReachable(a, ra.ips[0]!.gateway);
    const ports = (await bridgePorts(node)).filter((p) => p.master === net.bridge);
    expect(ports).toHaveLength(2);
    for (const p of ports) expect(p.hairpin, `hairpin on ${p.ifname}`).toBe(true);
    expect((await link(a, "eth0"))!.mtu).toBe(1450);
  });

  for (const backend of ["iptables", "nftables"] as const) {
    it(`DEL after the netns was deleted leaves no rule, link or reservation (ipMasq ${backend}, dual stack)`, async () => {
      const node = await sandbox.node();
      const net = bridgeNet(node);
      const network = writeBridgeConf(node, net, "1.0.0", "dual", {
        isGateway: true,
        ipMasq: true,
        ipMasqBackend: backend,
      });
      const before = await masqRules(node);
      const pod = await node.addPod();
      expectOk(await node.cnitool("add", network, pod), "ADD");
      expect(await masqRules(node)).not.toBe(before);
      expect(reservations(node, network)).toHaveLength(2);
      await deleteNetns(pod.name);
      expectOk(await node.cnitool("del", network, pod), "DEL with the netns gone");
      expect(await masqRules(node)).toBe(before);
      expect(await podLinksOnNode(node, net.bridge)).toEqual([]);
      expect(reservations(node, network)).toEqual([]);
    });
  }

  it("DEL without CNI_NETNS still releases the lease and the masquerade rules (1.1.0, direct)", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.1.0", "v4", { isGateway: true, ipMasq: true });
    const before = await masqRules(node);
    const pod = await node.addPod();
    const added = expectOk(await directAdd(node, network, pod), "ADD") as Record<string, unknown>;
    const conf = {
      cniVersion: "1.1.0",
      name: network,
      type: "bridge",
      bridge: net.bridge,
      isGateway: true,
      ipMasq: true,
      ipam: { type: "host-local", ranges: [[{ subnet: net.subnet }]], dataDir: node.dataDir },
      prevResult: added,
    };
    await deleteNetns(pod.name);
    expectOk(await node.invoke("bridge", "DEL", conf, null, { containerId: pod.containerId }), "DEL without CNI_NETNS");
    expect(await masqRules(node)).toBe(before);
    expect(reservations(node, network)).toEqual([]);
  });

  it("an ADD that fails after IPAM (unreachable route gateway) leaves no lease, veth or rule behind", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(
      node,
      net,
      "1.0.0",
      "v4",
      { ...flannelLike, ipMasq: true },
      { routes: [{ dst: "10.0.0.0/8", gw: "192.0.2.1" }] },
    );
    const before = await masqRules(node);
    const pod = await node.addPod();
    const failed = await node.cnitool("add", network, pod);
    expect(failed.ok).toBe(false);
    expect(failed.stderr).toContain("failed to add route '10.0.0.0/8 via 192.0.2.1");
    expect(reservations(node, network)).toEqual([]);
    expect(await podLinksOnNode(node, net.bridge)).toEqual([]);
    expect(await link(pod, "eth0")).toBeUndefined();
    expect(await masqRules(node)).toBe(before);
  });

  it("CHECK reports a removed route and a changed MTU, naming both", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.0.0", "v4", flannelLike, { routes: [{ dst: "10.0.0.0/8" }] });
    const pod = await node.addPod();
    expectOk(await node.cnitool("add", network, pod), "ADD");
    expectOk(await node.cnitool("check", network, pod), "CHECK of a healthy pod");
    await node.execInPod(pod, ["ip", "route", "del", "10.0.0.0/8"]);
    const noRoute = await node.cnitool("check", network, pod);
    expect(noRoute.ok).toBe(false);
    expect(noRoute.stderr).toContain("Expected Route 10.0.0.0/8 not found in routing table");
    await node.execInPod(pod, ["ip", "link", "set", "eth0", "mtu", "1300"]);
    const both = await node.cnitool("check", network, pod);
    expect(both.stderr).toContain("eth0 has MTU 1300, config says 1450");
    expect(both.stderr).toContain("Expected Route 10.0.0.0/8");
    const veth = (await podLinksOnNode(node, net.bridge))[0]!;
    await node.exec(["ip", "link", "set", veth, "type", "bridge_slave", "hairpin", "off"]);
    expect((await node.cnitool("check", network, pod)).stderr).toContain(
      `hairpin is off on ${veth}, config says hairpinMode true`,
    );
    expectOk(await node.cnitool("del", network, pod), "DEL");
  });

  for (const [adder, deleter] of [
    ["reference", "ours"],
    ["ours", "reference"],
  ] as Array<[Impl, Impl]>) {
    it(`a pod added by the ${adder} bridge is deleted cleanly by the ${deleter} one (ipMasq iptables)`, async () => {
      const swap = swappablePlugins(adder);
      const node = await sandbox.node({ cniPath: [swap.dir] });
      node.onTeardown(() => swap.remove());
      const net = bridgeNet(node);
      const network = writeBridgeConf(node, net, "0.4.0", "dual", { ...flannelLike, ipMasq: true });
      const before = await masqRules(node);
      const pod = await node.addPod();
      expectOk(await node.cnitool("add", network, pod), `ADD by ${adder}`);
      swap.use(deleter);
      expectOk(await node.cnitool("check", network, pod), `CHECK by ${deleter}`);
      expectOk(await node.cnitool("del", network, pod), `DEL by ${deleter}`);
      expect(await masqRules(node)).toBe(before);
      expect(await podLinksOnNode(node, net.bridge)).toEqual([]);
      expect(await link(pod, "eth0")).toBeUndefined();
      expect(reservations(node, network)).toEqual([]);
    });
  }

  it("the reference leaks the masquerade chain on DEL with the netns gone (plugins#810); a DEL by ours removes it", async () => {
    const swap = swappablePlugins("reference");
    const node = await sandbox.node({ cniPath: [swap.dir] });
    node.onTeardown(() => swap.remove());
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "0.4.0", "v4", { ...flannelLike, ipMasq: true });
    const before = await masqRules(node);
    const pod = await node.addPod();
    expectOk(await node.cnitool("add", network, pod), "ADD by the reference");
    await deleteNetns(pod.name);
    expectOk(await node.cnitool("del", network, pod), "DEL by the reference, netns gone");
    expect(await masqRules(node), "the reference's leak (if this fails, upstream fixed plugins#810)").not.toBe(before);
    swap.use("ours");
    expectOk(await node.cnitool("del", network, pod), "DEL again by ours");
    expect(await masqRules(node)).toBe(before);
  });

  it("heals a bridge whose address belongs to an old subnet once no pod is attached; refuses while one is", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.0.0", "v4", flannelLike);
    const [a, b, c] = [await node.addPod(), await node.addPod(), await node.addPod()];
    expectOk(await node.cnitool("add", network, a), "ADD a on the old subnet");
    const oldGw = (await cidrsOf(node, net.bridge))[0]!;
    // The node's pod subnet changes (a new flannel lease): a pod still sits on the old one.
    const moved = { ...net, subnet: node.subnet(1) };
    writeBridgeConf(node, moved, "1.0.0", "v4", flannelLike);
    const refused = await node.cnitool("add", network, b);
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toContain(
      `"${net.bridge}" already has an IP address different from ${moved.subnet.replace(/0\/24$/, "1/24")}`,
    );
    expect(refused.stderr).toContain(`it has ${oldGw}`);
    expect(reservations(node, network).length, "the refused ADD released its lease").toBe(1);
    expectOk(await node.cnitool("del", network, a), "DEL a");
    const healed = await node.cnitool("add", network, b);
    expectOk(healed, "ADD b after the last old pod left");
    expect(healed.stderr).toContain(`replacing ${oldGw}`);
    expect(await cidrsOf(node, net.bridge)).toEqual([moved.subnet.replace(/0\/24$/, "1/24")]);
    // forceAddress replaces even with a pod attached.
    const third = { ...net, subnet: node.subnet(2) };
    writeBridgeConf(node, third, "1.0.0", "v4", { ...flannelLike, forceAddress: true });
    expectOk(await node.cnitool("add", network, c), "ADD c with forceAddress");
    expect(await cidrsOf(node, net.bridge)).toEqual([third.subnet.replace(/0\/24$/, "1/24")]);
    for (const p of [b, c]) expectOk(await node.cnitool("del", network, p), `DEL ${p.label}`);
  });

  it("reconciles the MTU of an existing bridge", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.0.0", "v4", { ...flannelLike, mtu: 1400 });
    const [a, b] = [await node.addPod(), await node.addPod()];
    expectOk(await node.cnitool("add", network, a), "ADD a");
    expect((await link(node, net.bridge))!.mtu).toBe(1400);
    writeBridgeConf(node, net, "1.0.0", "v4", { ...flannelLike, mtu: 1450 });
    expectOk(await node.cnitool("add", network, b), "ADD b");
    expect((await link(node, net.bridge))!.mtu).toBe(1450);
    expect((await link(b, "eth0"))!.mtu).toBe(1450);
  });

  it("two ADDs racing on a fresh node both succeed", async () => {
    for (let round = 0; round < 3; round++) {
      const node = await sandbox.node();
      const net = bridgeNet(node);
      const network = writeBridgeConf(node, net, "1.0.0", "dual", flannelLike);
      const [a, b] = [await node.addPod(), await node.addPod()];
      const [ra, rb] = await Promise.all([node.cnitool("add", network, a), node.cnitool("add", network, b)]);
      expectOk(ra, `ADD a (round ${round})`);
      expectOk(rb, `ADD b (round ${round})`);
      expect(await podLinksOnNode(node, net.bridge)).toHaveLength(2);
      await sandbox.teardownAll();
    }
  });

  it("four networks sharing one bridge, racing on a fresh node (bridge and gateway address created concurrently), all succeed", async () => {
    for (let round = 0; round < 4; round++) {
      const node = await sandbox.node();
      const net = bridgeNet(node);
      const networks = [1, 2, 3, 4].map((j) =>
        writeBridgeConf(node, { ...net, network: `${net.network}-${j}` }, "1.0.0", "dual", flannelLike, {
          dataDir: join(node.dataDir, `n${j}`),
        }),
      );
      const pods: Pod[] = [];
      for (let j = 0; j < 4; j++) pods.push(await node.addPod());
      const outcomes = await Promise.all(pods.map((p, j) => node.cnitool("add", networks[j]!, p)));
      outcomes.forEach((o, j) => expectOk(o, `ADD ${j} (round ${round})`));
      expect(await podLinksOnNode(node, net.bridge)).toHaveLength(4);
      expect((await cidrsOf(node, net.bridge)).filter((c) => !c.startsWith("fe80"))).toHaveLength(2);
      await sandbox.teardownAll();
    }
  });

  it("50 concurrent ADDs all succeed with distinct addresses, and 50 concurrent DELs leave nothing", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.0.0", "v4", flannelLike);
    const pods: Pod[] = [];
    for (let i = 0; i < 50; i++) pods.push(await node.addPod(`p${i}`));
    const added = await Promise.all(pods.map((p) => node.cnitool("add", network, p)));
    const addresses = added.map(
      (o, i) => (expectOk(o, `ADD ${pods[i]!.label}`) as { ips: { address: string }[] }).ips[0]!.address,
    );
    expect(new Set(addresses).size).toBe(50);
    expect(await podLinksOnNode(node, net.bridge)).toHaveLength(50);
    const deleted = await Promise.all(pods.map((p) => node.cnitool("del", network, p)));
    deleted.forEach((o, i) => expectOk(o, `DEL ${pods[i]!.label}`));
    expect(await podLinksOnNode(node, net.bridge)).toEqual([]);
    expect(reservations(node, network)).toEqual([]);
  }, 240_000);

  it("GC removes masquerade rules and leases of attachments that are no longer valid; STATUS succeeds (1.1.0)", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "1.1.0", "v4", { isGateway: true, ipMasq: true });
    const before = await masqRules(node);
    const [a, b] = [await node.addPod(), await node.addPod()];
    expectOk(await directAdd(node, network, a), "ADD a");
    const withA = await masqRules(node);
    expectOk(await directAdd(node, network, b), "ADD b");
    expectOk(await directStatus(node, network), "STATUS");
    const noList = {
      cniVersion: "1.1.0",
      name: network,
      type: "bridge",
      bridge: net.bridge,
      isGateway: true,
      ipMasq: true,
      ipam: {},
    };
    const withBoth = await masqRules(node);
    expectOk(await node.invoke("bridge", "GC", noList, null), "GC without cni.dev/valid-attachments");
    expect(await masqRules(node), "GC without a list removes nothing").toBe(withBoth);
    expectOk(await directGc(node, network, [{ containerID: a.containerId, ifname: "eth0" }]), "GC keeping a");
    expect(await masqRules(node)).toBe(withA);
    expect(reservations(node, network)).toHaveLength(1);
    expectOk(await directGc(node, network, []), "GC keeping nothing");
    expect(await masqRules(node)).toBe(before);
    expect(reservations(node, network)).toEqual([]);
  });

  it("ADD and DEL start no process: every kernel change is a netlink request, listed in the trace as its ip command line", async () => {
    const node = await sandbox.node();
    const net = bridgeNet(node);
    const network = writeBridgeConf(node, net, "0.3.1", "v4", flannelLike);
    const log = join(node.workDir, "trace.jsonl");
    const [a, b] = [await node.addPod(), await node.addPod()];
    const env = { CNI_TS_DEBUG_LOG: log };
    expectOk(await node.cnitool("add", network, a, { env }), "ADD a");
    expectOk(await node.cnitool("add", network, b, { env }), "ADD b");
    expectOk(await node.cnitool("del", network, b, { env }), "DEL b");
    type Rec = { verb: string; processes: { cmd: string }[]; netlink: { cmd: string; status: number }[] };
    const records = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Rec);
    const mine = records.filter((r) => r.verb !== "");
    expect(mine.map((r) => `${r.verb}:${r.processes.length}`)).toEqual(["ADD:0", "ADD:0", "DEL:0"]);
    const [first, second, del] = mine.map((r) => r.netlink.map((s) => s.cmd)) as [string[], string[], string[]];
    // The steps an operator would type, in upstream's order; the pod end is created in the pod's namespace.
    expect(first[0]).toMatch(/^ip link add \S+ address \S+ mtu \d+ type bridge$/);
    expect(first).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^ip link add veth[0-9a-f]{8} mtu \\d+ txqlen 0 type veth peer name eth0 mtu \\d+ txqlen 0 netns ${a.path}$`,
        ),
      ),
    );
    expect(second[0]).toMatch(/^ip -d -j addr show dev /);
    expect(second.filter((c) => c.startsWith(`nsenter --net=${b.path} -- ip addr add `))).toHaveLength(1);
    expect(del).toEqual([`nsenter --net=${b.path} -- ip link del dev eth0`]);
    for (const r of mine) expect(r.netlink.filter((s) => s.cmd.includes("(event wait")).length).toBeLessThanOrEqual(1);
    expect(mine.flatMap((r) => r.netlink).filter((s) => s.status !== 0 && !s.cmd.includes("(event wait"))).toEqual([]);
  });
});
