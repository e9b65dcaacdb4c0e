import { beforeAll, describe, expect, it } from "vitest";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { netnsExists } from "./lib/netns.js";
import { existsSync, readFileSync } from "node:fs";
import { expectOk } from "./lib/cni-calls.js";
import { expectReachable, expectUnreachable, stripPrefix } from "./lib/connectivity.js";
import { bridgePorts, cidrsOf, filesUnder, iptablesRules, nftRuleset, sysctl, sysctls } from "./lib/observe.js";
import { REFERENCE_BIN } from "./lib/paths.js";
import { bridgeBasicConflist, bridgeBasicNames, runBridgeBasic } from "./lib/scenarios/bridge-basic.js";
import { expectSameAsReference, runTwin, twinDifferences } from "./lib/twin.js";
import { createNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { itEachVersion } from "./lib/matrix.js";

beforeAll(async () => {
  await ensureCnitool();
});

describe("reference bridge + host-local through libcni", () => {
  const sandbox = useSandbox();
  itEachVersion(
    "basic pod attach/detach",
    async (version) => {
      const node = await sandbox.node({ impl: "reference" });
      await runBridgeBasic(node, version);
    },
    { impl: "reference" },
  );
});

describe("sandbox teardown", () => {
  it("removes the namespaces, links and directories it created", async () => {
    const node = await createNode({ impl: "reference" });
    const pod = await node.addPod("a");
    await node.exec(["ip", "link", "add", node.uniqueName("td"), "type", "bridge"]);
    await node.teardown();
    expect(netnsExists(node.name)).toBe(false);
    expect(netnsExists(pod.name)).toBe(false);
    expect(existsSync(node.dir)).toBe(false);
  });
});

describe("twin comparison", () => {
  const sandbox = useSandbox();
  const refOnBothSides = () => [REFERENCE_BIN];

  it("finds no difference between two runs of the reference (normalisation is complete)", async () => {
    const run = await runTwin(sandbox, (node, record) => runBridgeBasic(node, "1.0.0", record), {
      cniPathFor: refOnBothSides,
    });
    const verdict = expectSameAsReference(run);
    expect(verdict.allowed).toEqual([]);
    expect(run.ours.steps.map((s) => s.step)).toEqual(["add", "check", "del", "del-again"]);
  });

  it("reports a difference in link state, and accepts it only through an allow-list entry", async () => {
    const run = await runTwin(
      sandbox,
      async (node, record, impl) => {
        const names = bridgeBasicNames(node);
        const conf = bridgeBasicConflist(node, "1.0.0", names);
        if (impl === "ours") (conf.plugins[0] as Record<string, unknown>).mtu = 1400;
        node.writeConflist(conf);
        const pod = await node.addPod("a");
        await record("add", await node.cnitool("add", names.network, pod));
      },
      { cniPathFor: refOnBothSides, firewall: false },
    );
    const diffs = twinDifferences(run).map((d) => d.path);
    expect(diffs).toContain("add.state.pods.a.links.eth0.mtu");
    expect(diffs).toContain("add.state.node.links.veth<a:eth0>.mtu");
    expect(() => expectSameAsReference(run)).toThrow(/difference\(s\) from the reference/);
    const allow = [{ path: /\.mtu$/, reason: "this test sets mtu 1400 on one side only" }];
    expect(expectSameAsReference(run, allow).allowed.length).toBeGreaterThanOrEqual(2);
    expect(() => expectSameAsReference(run, [...allow, { path: "nowhere", reason: "stale" }])).toThrow(
      /matched nothing/,
    );
  });
});

describe("observers and connectivity (on the reference plugins)", () => {
  const sandbox = useSandbox();

  it("see hairpin, masquerade rules, forwarding and host-local files inside the sandbox only", async () => {
    const node = await sandbox.node({ impl: "reference" });
    const names = bridgeBasicNames(node);
    const conf = bridgeBasicConflist(node, "1.0.0", names);
    Object.assign(conf.plugins[0]!, { hairpinMode: true, ipMasq: true });
    node.writeConflist(conf);
    const rootForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    expect(await sysctl(node, "net.ipv4.ip_forward")).toBe("0"); // a fresh netns starts with forwarding off
    expect(await iptablesRules(node)).not.toMatch(/MASQUERADE/);

    const [a, b] = [await node.addPod("a"), await node.addPod("b")];
    expectOk(await node.cnitool("add", names.network, a));
    expectOk(await node.cnitool("add", names.network, b));

    const ports = await bridgePorts(node);
    expect(ports).toHaveLength(2);
    for (const p of ports) expect(p).toMatchObject({ master: names.bridge, hairpin: true });
    expect(await iptablesRules(node)).toMatch(/-j MASQUERADE/);
    expect(typeof (await nftRuleset(node))).toBe("string");
    const fwd = await sysctls(node, ["net.ipv4.ip_forward", "net/ipv4/conf/lo/forwarding", "net.no.such.key"]);
    expect(fwd).toEqual({ "net.ipv4.ip_forward": "1", "net/ipv4/conf/lo/forwarding": "1" });
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(rootForward);

    const files = filesUnder(node.dataDir);
    const ipB = stripPrefix((await cidrsOf(b, "eth0"))[0]!);
    expect(files.get(`${names.network}/${ipB}`)?.toString()).toBe(`${b.containerId}\r\neth0`);
    expect(files.get(`${names.network}/last_reserved_ip.0`)?.toString()).toBe(ipB);
  });

  it("ping: pods reach each other and the bridge; not an address nobody holds", async () => {
    const node = await sandbox.node({ impl: "reference" });
    const names = bridgeBasicNames(node);
    node.writeConflist(bridgeBasicConflist(node, "1.0.0", names));
    const [a, b] = [await node.addPod("a"), await node.addPod("b")];
    expectOk(await node.cnitool("add", names.network, a));
    expectOk(await node.cnitool("add", names.network, b));
    const addrB = (await cidrsOf(b, "eth0"))[0]!;
    await expectReachable(a, addrB);
    await expectReachable(b, (await cidrsOf(a, "eth0"))[0]!);
    await expectReachable(a, names.gateway);
    await expectUnreachable(a, `${names.gateway.replace(/\.1$/, ".200")}`);
  });
});
