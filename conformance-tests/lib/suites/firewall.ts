/**
 * Shared by the firewall-reload, localnet-guard and metrics tests: a node running our bridge
 * (ipMasq) + host-local + portmap through libcni with two serving pods and an outside client,
 * the node's whole firewall as text, and the node commands run inside the node's namespace.
 */
import { join } from "node:path";
import { expectOk } from "../cni-calls.js";
import { iptablesRules, nftRuleset } from "../observe.js";
import { OURS_BIN } from "../paths.js";
import type { Pod, SandboxNode } from "../sandbox.js";
import { addOutsideClient, startServer } from "./portmap.js";

export const HOST_PORT = 18480;
export const POD_PORT = 8080;
export const OUTSIDE_PORT = 9090;
const CNI_TS = join(OURS_BIN, "cni-ts");

export type Backend = "iptables" | "nftables";

export interface FirewallNode {
  node: SandboxNode;
  network: string;
  gw4: string;
  bridge: string;
  outside: { ns: Pod; nodeV4: string; nodeV6: string };
  a: Pod;
  b: Pod;
  mappingsOf(pod: Pod): { portMappings: { hostPort: number; containerPort: number; protocol: string }[] };
}

/** A node with pods a (hostPort HOST_PORT) and b (HOST_PORT + 1), each serving "pong <label>". */
export async function firewallNode(node: SandboxNode, backend: Backend): Promise<FirewallNode> {
  const network = node.uniqueName("fw-");
  const bridge = node.uniqueName("cb");
  const gw4 = `${node.subnet().split(".").slice(0, 3).join(".")}.1`;
  node.writeConflist({
    cniVersion: "1.0.0",
    name: network,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        isDefaultGateway: true,
        hairpinMode: true,
        ipMasq: true,
        ipMasqBackend: backend,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: node.subnet() }], [{ subnet: node.subnet6() }]],
          dataDir: node.dataDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true }, backend },
    ],
  });
  const outside = await addOutsideClient(node);
  const a = await node.addPod("a");
  const b = await node.addPod("b");
  const mappingsOf = (pod: Pod) => ({
    portMappings: [{ hostPort: pod === a ? HOST_PORT : HOST_PORT + 1, containerPort: POD_PORT, protocol: "tcp" }],
  });
  for (const pod of [a, b]) {
    expectOk(await node.cnitool("add", network, pod, { capArgs: mappingsOf(pod) }), `ADD ${pod.label}`);
    await startServer(node, pod, POD_PORT);
  }
  await startServer(node, outside.ns, OUTSIDE_PORT, "ext", true);
  return { node, network, gw4, bridge, outside, a, b, mappingsOf };
}

/** The node's whole firewall as text: iptables-save of both families and nft's ruleset, counters zeroed. */
export async function firewallText(node: SandboxNode): Promise<string> {
  const nft = (await nftRuleset(node)).replace(/counter packets \d+ bytes \d+/g, "counter packets 0 bytes 0");
  return [await iptablesRules(node, 4), await iptablesRules(node, 6), nft].join("\n---\n");
}

/** `cni-ts COMMAND --conf-dir … --cache-dir …` inside the node's namespace (ip netns exec). */
export async function nodeCommand(
  node: SandboxNode,
  command: string,
  extra: string[] = [],
): Promise<{ status: number; stdout: string; stderr: string }> {
  const r = await node.exec([CNI_TS, command, "--conf-dir", node.confDir, "--cache-dir", node.cacheDir, ...extra], {
    check: false,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function firewallReload(node: SandboxNode): Promise<{ status: number; stdout: string }> {
  const r = await nodeCommand(node, "firewall-reload");
  return { status: r.status, stdout: r.stdout + r.stderr };
}
