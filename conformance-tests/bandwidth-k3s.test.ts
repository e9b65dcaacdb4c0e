/**
 * k3s's conflist (flannel with the delegate k3s renders — hairpinMode, forceAddress,
 * isDefaultGateway — then portmap and bandwidth), unchanged but for the sandbox paths, through
 * libcni with nothing but our executables on CNI_PATH, on k3s's 10.42.0.0/16. The runtime config
 * is what containerd sends for a pod with a hostPort and the bandwidth annotations (go-cni's
 * untagged field names). ADD shapes and maps, CHECK passes, DEL leaves nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { chainName } from "../plugins/portmap/iptables-rules.js";
import { ifbName } from "../plugins/bandwidth/tbf-params.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { cidrsOf } from "./lib/observe.js";
import { OURS_BIN } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { K3S_NETWORK, captureTc, k3sSandboxConflist, shapingLeftovers } from "./lib/suites/bandwidth.js";
import { connect, forwardingRules, rulesOf, startServer } from "./lib/suites/portmap.js";

beforeAll(async () => {
  await ensureCnitool();
});

const NETWORK = K3S_NETWORK;
const HOST_PORT = 18080;
const POD_PORT = 8080;
/** kubernetes.io/ingress-bandwidth: 10M, egress-bandwidth: 5M as kubelet hands them to containerd. */
const caps = {
  portMappings: [{ HostPort: HOST_PORT, ContainerPort: POD_PORT, Protocol: "tcp", HostIP: "" }],
  bandwidth: {
    IngressRate: 10_000_000,
    IngressBurst: 2_147_483_647,
    EgressRate: 5_000_000,
    EgressBurst: 2_147_483_647,
  },
};

describe("the k3s chain: flannel + portmap + bandwidth", () => {
  const sandbox = useSandbox();

  it("ADD with port mappings and bandwidth, CHECK, DEL — ours only, forceAddress on 10.42.0.0/16", async () => {
    const node = await sandbox.node({ impl: "ours", cniPath: [OURS_BIN] });
    const { conflist, bridge } = k3sSandboxConflist(node);
    node.writeConflist(conflist, "10-flannel.conflist");
    // The node's subnet moved (a re-registered k3s agent): forceAddress replaces the bridge's old address.
    await node.exec(["ip", "link", "add", bridge, "type", "bridge"]);
    await node.exec(["ip", "addr", "add", "10.42.7.1/24", "dev", bridge]);

    const a = await node.addPod("a");
    const b = await node.addPod("b");
    const addA = expectOk(await node.cnitool("add", NETWORK, a, { capArgs: caps }), "ADD a") as {
      interfaces: Array<{ name: string }>;
    };
    expectOk(await node.cnitool("add", NETWORK, b), "ADD b");
    expect(await cidrsOf(node, bridge)).toEqual(["10.42.1.1/24"]);
    expect((await cidrsOf(a, "eth0"))[0]).toMatch(/^10\.42\.1\.\d+\/24$/);

    const ifb = ifbName(NETWORK, a.containerId);
    expect(addA.interfaces.map((i) => i.name)).toContain(ifb);
    const tc = await captureTc(node, [a, b]);
    const kinds = (dev: string) => (tc.qdiscs[dev] ?? []).map((q) => (q as { kind: string }).kind).sort();
    expect(kinds("veth<a>")).toEqual(["ingress", "tbf"]);
    expect(kinds(ifb)).toEqual(["tbf"]);
    expect(kinds("veth<b>")).not.toContain("tbf");
    expect(tc.ifbs.map((l) => l.name)).toEqual([ifb]);

    await startServer(node, a, POD_PORT);
    expect(await connect(node, b, "10.42.1.1", HOST_PORT)).toBe("pong a");

    expectOk(await node.cnitool("check", NETWORK, a, { capArgs: caps }), "CHECK a");
    expectOk(await node.cnitool("check", NETWORK, b), "CHECK b");

    expectOk(await node.cnitool("del", NETWORK, a, { capArgs: caps }), "DEL a");
    expectOk(await node.cnitool("del", NETWORK, b), "DEL b");
    expect(await shapingLeftovers(node)).toEqual([]);
    expect(rulesOf(await forwardingRules(node), a.containerId, chainName("DN-", NETWORK, a.containerId))).toEqual([]);
    // containerd repeats DEL; the second finds nothing and succeeds.
    expectOk(await node.cnitool("del", NETWORK, a, { capArgs: caps }), "second DEL a");
  });
});
