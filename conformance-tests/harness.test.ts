import { beforeAll, describe, expect, it } from "vitest";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { netnsExists } from "./lib/netns.js";
import { existsSync } from "node:fs";
import { REFERENCE_BIN } from "./lib/paths.js";
import { bridgeBasicConflist, bridgeBasicNames, runBridgeBasic } from "./lib/scenarios/bridge-basic.js";
import { expectSameAsReference, runTwin, twinDifferences } from "./lib/twin.js";
import { createNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { versionsFor, viaLibcni } from "./lib/versions.js";

beforeAll(async () => {
  await ensureCnitool();
});

describe("reference bridge + host-local through libcni", () => {
  const sandbox = useSandbox();
  for (const version of versionsFor("ADD").filter(viaLibcni)) {
    it(`basic pod attach/detach, cniVersion ${version}`, async () => {
      const node = await sandbox.node({ impl: "reference" });
      await runBridgeBasic(node, version);
    });
  }
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
    const run = await runTwin(sandbox, (node, record) => runBridgeBasic(node, "1.0.0", record), { cniPathFor: refOnBothSides });
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
    expect(() => expectSameAsReference(run, [...allow, { path: "nowhere", reason: "stale" }])).toThrow(/matched nothing/);
  });
});
