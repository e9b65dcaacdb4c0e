/**
 * `cni-ts firewall-reload` on a sandboxed node with live pods (our bridge with ipMasq, host-local,
 * portmap; through libcni): after the node's nat table is flushed (iptables backend) or our nft
 * tables are deleted (nftables backend), hostPorts and masquerading are broken; the command,
 * run in the node's namespace with the node's conf and cache dirs, brings back every rule with
 * the same text as before, and a second run changes nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { KUBE_FLANNEL_NETWORK, writeKubeFlannelConflist } from "./lib/cluster/kube-flannel-node.js";
import { deleteNetns } from "./lib/netns.js";
import { requireOursBuilt } from "./lib/paths.js";
import type { Pod, SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import {
  type Backend,
  type FirewallNode,
  HOST_PORT,
  OUTSIDE_PORT,
  firewallNode,
  firewallReload,
  firewallText,
} from "./lib/suites/firewall.js";
import { addOutsideClient, connect, startServer } from "./lib/suites/portmap.js";

beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
});

/** Every probe of the hostPorts and of masquerading, as "what: answer". */
async function probes(f: FirewallNode): Promise<string[]> {
  const { node, outside, a, b, gw4 } = f;
  const list: [string, Pod | SandboxNode, string, number][] = [
    ["outside -> node v4", outside.ns, outside.nodeV4, HOST_PORT],
    ["outside -> node v6", outside.ns, outside.nodeV6, HOST_PORT + 1],
    ["node -> localhost", node, "127.0.0.1", HOST_PORT],
    ["node -> bridge address", node, gw4, HOST_PORT + 1],
    ["pod a -> its own hostPort (hairpin)", a, gw4, HOST_PORT],
    ["pod b -> pod a's hostPort", b, gw4, HOST_PORT],
    ["pod a -> outside (masqueraded)", a, outside.nodeV4.replace(/\.1$/, ".2"), OUTSIDE_PORT],
  ];
  const out: string[] = [];
  for (const [what, from, host, port] of list) out.push(`${what}: ${await connect(node, from, host, port)}`);
  return out;
}

function working(f: FirewallNode): string[] {
  return [
    "outside -> node v4: pong a",
    "outside -> node v6: pong b",
    "node -> localhost: pong a",
    "node -> bridge address: pong b",
    "pod a -> its own hostPort (hairpin): pong a",
    "pod b -> pod a's hostPort: pong a",
    `pod a -> outside (masqueraded): pong ext from ${f.outside.nodeV4}`,
  ];
}

async function wipe(node: SandboxNode, backend: Backend): Promise<void> {
  if (backend === "iptables") {
    for (const cmd of ["iptables", "ip6tables"]) await node.exec([cmd, "-t", "nat", "-F"]);
    return;
  }
  for (const [family, table] of [
    ["ip", "cni_hostport"],
    ["ip6", "cni_hostport"],
    ["inet", "cni_plugins_masquerade"],
  ]) {
    await node.exec(["nft", "delete", "table", family!, table!]);
  }
}

describe("cni-ts firewall-reload", () => {
  const sandbox = useSandbox();

  for (const backend of ["iptables", "nftables"] as const) {
    const wiped = backend === "iptables" ? "iptables -t nat -F (both families)" : "deleting our nft tables";
    it(`${backend}: after ${wiped}, the command restores hostPorts and masquerading with identical rules; a second run changes nothing`, async () => {
      const node = await sandbox.node({ impl: "ours" });
      const f = await firewallNode(node, backend);
      expect(await probes(f)).toEqual(working(f));
      const before = await firewallText(node);

      await wipe(node, backend);
      // Broken (a refusal is expected, so little patience): from outside, from the node, masquerading.
      expect(await connect(node, f.outside.ns, f.outside.nodeV4, HOST_PORT, 1200)).toMatch(/^ERR /);
      expect(await connect(node, node, "127.0.0.1", HOST_PORT, 1200)).toMatch(/^ERR /);
      const unmasqueraded = await connect(node, f.a, f.outside.nodeV4.replace(/\.1$/, ".2"), OUTSIDE_PORT);
      expect(unmasqueraded, "without masquerading the outside sees the pod's own address").toMatch(
        /^pong ext from 10\./,
      );
      expect(unmasqueraded).not.toContain(f.outside.nodeV4);

      const first = await firewallReload(node);
      expect(first.status, first.stdout).toBe(0);
      const restored = first.stdout.split("\n").filter((l) => l.startsWith("restored"));
      // Per pod: portmap v4 + v6 and the bridge's masquerade (iptables: per family; nftables: one inet table).
      expect(restored.filter((l) => l.includes(" portmap ")).length, first.stdout).toBeGreaterThanOrEqual(4);
      expect(restored.filter((l) => l.includes(" bridge ipMasq ")).length, first.stdout).toBe(
        backend === "iptables" ? 4 : 2,
      );
      expect(await probes(f)).toEqual(working(f));
      expect(await firewallText(node)).toEqual(before);

      const second = await firewallReload(node);
      expect(second.status, second.stdout).toBe(0);
      expect(
        second.stdout.split("\n").filter((l) => l.startsWith("restored")),
        second.stdout,
      ).toEqual([]);
      expect(second.stdout).toMatch(/firewall-reload: 0 restored, \d+ intact, 0 skipped, 0 failed/);
      expect(await firewallText(node)).toEqual(before);

      for (const pod of [f.a, f.b])
        expectOk(await node.cnitool("del", f.network, pod, { capArgs: f.mappingsOf(pod) }), `DEL ${pod.label}`);
      const left = await firewallText(node);
      expect(left).not.toMatch(/cts-|localnet/);
    });
  }

  it("kube-flannel conflist (flannel -> bridge with ipMasq from subnet.env, then portmap): masquerading comes back from flannel's saved delegate config; a pod whose namespace vanished is skipped", async () => {
    const node = await sandbox.node({ impl: "ours" });
    // FLANNEL_IPMASQ=false: flanneld does not masquerade, so flannel asks bridge to (ipMasq: true).
    writeKubeFlannelConflist(node, { cniVersion: "0.3.1", flannelIpMasq: false });
    const network = KUBE_FLANNEL_NETWORK;
    node.writeConflist({ name: "lo", cniVersion: "0.3.1", plugins: [{ type: "loopback" }] });
    const index = [2, 3, 4, 5].find((i) => !node.subnet(i).startsWith("10.244.")) ?? 2;
    const outside = await addOutsideClient(node, "ext", index);
    const outsideAddr = outside.nodeV4.replace(/\.1$/, ".2");
    const a = await node.addPod("a");
    const caps = { portMappings: [{ hostPort: HOST_PORT, containerPort: 8080, protocol: "tcp" }] };
    expectOk(await node.cnitool("add", "lo", a, { ifname: "lo" }), "loopback ADD");
    expectOk(await node.cnitool("add", network, a, { capArgs: caps }), "ADD a");
    await startServer(node, a, 8080);
    await startServer(node, outside.ns, OUTSIDE_PORT, "ext", true);
    const check = async (patienceMs = 4000) => [
      await connect(node, outside.ns, outside.nodeV4, HOST_PORT, patienceMs),
      await connect(node, a, outsideAddr, OUTSIDE_PORT, patienceMs),
    ];
    expect(await check()).toEqual(["pong a", `pong ext from ${outside.nodeV4}`]);
    const before = await firewallText(node);
    // Pod g's namespace vanishes without DEL: its rules must not come back.
    const g = await node.addPod("g");
    expectOk(
      await node.cnitool("add", network, g, {
        capArgs: { portMappings: [{ hostPort: HOST_PORT + 7, containerPort: 8080, protocol: "tcp" }] },
      }),
      "ADD g",
    );
    await deleteNetns(g.name);

    await wipe(node, "iptables");
    const broken = await check(1200);
    expect(broken[0]).toMatch(/^ERR /);
    expect(broken[1]).toMatch(/^pong ext from 10\.244\.1\./);

    const reload = await firewallReload(node);
    expect(reload.status, reload.stdout).toBe(0);
    expect(reload.stdout).toMatch(/^restored cbr0\/cts-\S+-a\/eth0 +bridge ipMasq iptables ipv4: /m);
    expect(reload.stdout).toMatch(/^restored cbr0\/cts-\S+-a\/eth0 +portmap iptables ipv4: /m);
    expect(reload.stdout, "the loopback attachment has no rules to restore").not.toMatch(/^\S+ +lo\//m);
    expect(reload.stdout).toMatch(
      new RegExp(`^skipped +cbr0/${g.containerId}/eth0 +attachment: pod network namespace is gone`, "m"),
    );
    expect(await check()).toEqual(["pong a", `pong ext from ${outside.nodeV4}`]);
    // The flush left g's (now empty) chains; GC removes those. No rule of g came back.
    const rulesOf = (text: string) => text.split("\n").filter((l) => l.startsWith("-A "));
    const after = await firewallText(node);
    expect(after).not.toContain(g.containerId);
    expect(rulesOf(after), "a's and the shared rules, exactly as before g existed").toEqual(rulesOf(before));

    expectOk(await node.cnitool("del", network, a, { capArgs: caps }), "DEL a");
    expectOk(await node.cnitool("del", "lo", a, { ifname: "lo" }), "loopback DEL");
  });
});
