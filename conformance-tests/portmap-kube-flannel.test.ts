/**
 * The whole kube-flannel conflist (flannel -> bridge -> host-local, then portmap) plus the
 * loopback network containerd runs for every pod, with nothing but our executables on CNI_PATH:
 * what a node's /opt/cni/bin needs. A hostPort answers from outside the node, from the node
 * (localhost and its addresses) and from pods, IPv4 and IPv6; DEL leaves no rule.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chainName } from "../plugins/portmap/iptables-rules.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { link } from "./lib/observe.js";
import { OURS_BIN } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { addOutsideClient, connect, forwardingRules, rulesOf, startServer } from "./lib/suites/portmap.js";

beforeAll(async () => {
  await ensureCnitool();
});

const NETWORK = "cbr0";
const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n" +
  "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n";
const HOST_PORT = 18080;
const POD_PORT = 8080;
const caps = { portMappings: [{ HostPort: HOST_PORT, ContainerPort: POD_PORT, Protocol: "tcp", HostIP: "" }] };

describe("kube-flannel conflist + loopback, ours only", () => {
  const sandbox = useSandbox();

  for (const backend of ["iptables", "nftables"] as const) {
    it(`hostPort through flannel + portmap (${backend}), loopback in every pod`, async () => {
      const node = await sandbox.node({ impl: "ours", cniPath: [OURS_BIN] });
      const runDir = join(node.dir, "run-flannel");
      mkdirSync(runDir);
      writeFileSync(join(runDir, "subnet.env"), SUBNET_ENV);
      const bridge = node.uniqueName("cni");
      const portmap: Record<string, unknown> = { type: "portmap", capabilities: { portMappings: true } };
      if (backend === "nftables") portmap.backend = "nftables";
      node.writeConflist({
        name: NETWORK,
        cniVersion: "0.3.1",
        plugins: [
          {
            type: "flannel",
            delegate: { hairpinMode: true, isDefaultGateway: true, bridge },
            subnetFile: join(runDir, "subnet.env"),
            dataDir: join(node.dataDir, "flannel"),
            ipam: { dataDir: join(node.dataDir, "networks") },
          },
          portmap,
        ],
      });
      node.writeConflist({ name: "lo", cniVersion: "0.3.1", plugins: [{ type: "loopback" }] });
      // The outside client's subnet must not fall inside the cluster's 10.244.0.0/16.
      const index = [2, 3, 4, 5].find((i) => !node.subnet(i).startsWith("10.244.")) ?? 2;
      const outside = await addOutsideClient(node, "ext", index);
      const a = await node.addPod("a");
      const b = await node.addPod("b");
      for (const pod of [a, b]) {
        expectOk(await node.cnitool("add", "lo", pod, { ifname: "lo" }), `loopback ADD ${pod.label}`);
        expect((await link(pod, "lo"))?.flags).toContain("UP");
      }
      expectOk(await node.cnitool("add", NETWORK, a, { capArgs: caps }), "ADD a");
      expectOk(await node.cnitool("add", NETWORK, b), "ADD b");
      await startServer(node, a, POD_PORT);
      const probes: [string, typeof a | typeof node, string, number][] = [
        ["outside -> node v4", outside.ns, outside.nodeV4, HOST_PORT],
        ["outside -> node v6", outside.ns, outside.nodeV6, HOST_PORT],
        ["node -> localhost", node, "127.0.0.1", HOST_PORT],
        ["node -> cni bridge", node, "10.244.1.1", HOST_PORT],
        ["pod a -> node (hairpin)", a, "10.244.1.1", HOST_PORT],
        ["pod a -> node v6 (hairpin)", a, "fd00:10:244:1::1", HOST_PORT],
        ["pod b -> node", b, "10.244.1.1", HOST_PORT],
        ["pod a -> its own lo", a, "127.0.0.1", POD_PORT],
      ];
      const got: string[] = [];
      for (const [what, from, host, port] of probes) got.push(`${what}: ${await connect(node, from, host, port)}`);
      expect(got).toEqual(probes.map(([what]) => `${what}: pong a`));

      expectOk(await node.cnitool("del", NETWORK, a, { capArgs: caps }), "DEL a");
      expect(rulesOf(await forwardingRules(node), a.containerId, chainName("DN-", NETWORK, a.containerId))).toEqual([]);
      expect(await connect(node, outside.ns, outside.nodeV4, HOST_PORT, 1200)).toMatch(/^ERR /);
      // containerd's second DEL: no netns, no prevResult.
      expectOk(
        await node.invoke(
          "portmap",
          "DEL",
          { cniVersion: "0.3.1", name: NETWORK, type: "portmap", runtimeConfig: caps },
          null,
          { containerId: a.containerId },
        ),
      );
      expectOk(await node.cnitool("del", "lo", a, { ifname: "lo" }), "loopback DEL");
      expect((await link(a, "lo"))?.flags).not.toContain("UP");
      expectOk(await node.cnitool("del", NETWORK, b), "DEL b");
      expectOk(await node.cnitool("del", "lo", b, { ifname: "lo" }));
      expect((await forwardingRules(node)).filter((l) => l.includes("CNI-DN-") || l.includes('comment "cts-'))).toEqual(
        [],
      );
    });
  }
});
