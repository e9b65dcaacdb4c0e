import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { requireOursBuilt } from "./lib/paths.js";
import type { Pod, SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { type Backend, type FirewallNode, HOST_PORT, OUTSIDE_PORT, firewallNode, firewallReload, firewallText } from "./firewall-helpers.js";
import { connect } from "./portmap-helpers.js";

/**
 * `cni-ts firewall-reload` on a sandboxed node with live pods (our bridge with ipMasq, host-local,
 * portmap; through libcni): after the node's nat table is flushed (iptables backend) or our nft
 * tables are deleted (nftables backend), hostPorts and masquerading are broken; the command,
 * run in the node's namespace with the node's conf and cache dirs, brings back every rule with
 * the same text as before, and a second run changes nothing.
 */
beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
});

/** Every probe of the hostPorts and of masquerading, as "what: answer". */
async function probes(f: FirewallNode, patienceMs = 4000): Promise<string[]> {
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
  for (const [what, from, host, port] of list) out.push(`${what}: ${await connect(node, from, host, port, patienceMs)}`);
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
  for (const [family, table] of [["ip", "cni_hostport"], ["ip6", "cni_hostport"], ["inet", "cni_plugins_masquerade"]]) {
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
      const broken = await probes(f, 1200);
      expect(broken[0]).toMatch(/^outside -> node v4: ERR /);
      expect(broken[2]).toMatch(/^node -> localhost: ERR /);
      expect(broken[6], "without masquerading the outside sees the pod's own address").toMatch(/^pod a -> outside \(masqueraded\): pong ext from 10\./);
      expect(broken[6]).not.toContain(f.outside.nodeV4);

      const first = await firewallReload(node);
      expect(first.status, first.stdout).toBe(0);
      const restored = first.stdout.split("\n").filter((l) => l.startsWith("restored"));
      // Per pod: portmap v4 + v6 and the bridge's masquerade (iptables: per family; nftables: one inet table).
      expect(restored.filter((l) => l.includes(" portmap ")).length, first.stdout).toBeGreaterThanOrEqual(4);
      expect(restored.filter((l) => l.includes(" bridge ipMasq ")).length, first.stdout).toBe(backend === "iptables" ? 4 : 2);
      expect(await probes(f)).toEqual(working(f));
      expect(await firewallText(node)).toEqual(before);

      const second = await firewallReload(node);
      expect(second.status, second.stdout).toBe(0);
      expect(second.stdout.split("\n").filter((l) => l.startsWith("restored")), second.stdout).toEqual([]);
      expect(second.stdout).toMatch(/firewall-reload: 0 restored, \d+ intact, 0 skipped, 0 failed/);
      expect(await firewallText(node)).toEqual(before);

      for (const pod of [f.a, f.b]) expectOk(await node.cnitool("del", f.network, pod, { capArgs: f.mappingsOf(pod) }), `DEL ${pod.label}`);
      const left = await firewallText(node);
      expect(left).not.toMatch(/cts-|localnet/);
    });
  }
});
