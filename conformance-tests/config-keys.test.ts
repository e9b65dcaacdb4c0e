/**
 * Config keys are matched as Go's encoding/json matches them (shared/cni/go-keys.ts): the Go
 * bridge and host-local honour `"Bridge"`, `"IsGateway"`, `"IPAM": {"Ranges": …}`, a
 * `"RuntimeConfig"` key, and KELVIN SIGN / LONG S folded to k / s; the Go portmap its own keys and
 * `"RuntimeConfig": {"PortMappings": …}`. Side by side with Debian's Go plugins through libcni: same
 * results, same node and pod state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeNet } from "./lib/bridge-scenarios.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { cidrsOf, link } from "./lib/observe.js";
import { REFERENCE_BIN, requireOursBuilt } from "./lib/paths.js";
import type { SandboxNode } from "./lib/sandbox.js";
import { type Recorder, type TwinRun, expectSameAsReference, runTwin } from "./lib/twin.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { clientFor } from "./lib/versions.js";
import { forwardingRules, privateBinDir } from "./lib/suites/portmap.js";

beforeAll(async () => {
  requireOursBuilt(["bridge", "host-local", "portmap"]);
  await ensureCnitool();
});

const MAC = "0a:58:0a:09:08:07";

async function mixedCase(node: SandboxNode, record: Recorder): Promise<void> {
  const net = bridgeNet(node);
  node.writeConflist({
    cniVersion: "1.0.0",
    name: net.network,
    plugins: [
      {
        type: "bridge",
        Bridge: net.bridge,
        IsGateway: true,
        "IPMa\u017fq": true,
        HairpinMode: true,
        MTU: 1400,
        "MAC\u017fPOOFCH\u212a": true,
        IPAM: { Type: "host-local", Ranges: [[{ Subnet: net.subnet }]], DataDir: node.dataDir },
        RuntimeConfig: { Mac: MAC },
      },
    ],
  });
  const client = clientFor(node, "1.0.0");
  const pod = await node.addPod();
  const add = await client.add(net.network, pod);
  await record("add", add);
  expectOk(add, "ADD");
  // Both sides honouring the keys is what the comparison proves; this proves the keys mattered.
  expect((await link(node, net.bridge))?.mtu, 'the bridge named by "Bridge"').toBe(1400);
  expect(await cidrsOf(node, net.bridge), "IsGateway: the gateway address on the bridge").toHaveLength(1);
  expect((await link(pod, "eth0"))?.address, "RuntimeConfig.Mac").toBe(MAC);
  const check = await client.check(net.network, pod);
  await record("check", check);
  expectOk(check, "CHECK");
  const del = await client.del(net.network, pod);
  await record("del", del);
  expectOk(del, "DEL");
}

describe("config keys match as in Go's encoding/json", () => {
  const sandbox = useSandbox();
  it("a mixed-case bridge + host-local config: same result and state as the Go plugins", async () => {
    const run = await runTwin(sandbox, mixedCase);
    expectSameAsReference(run);
  });
});

/** portmap's keys, chained after a lowercase bridge (the reference's bridge and host-local on both sides). */
async function portmapMixedCase(node: SandboxNode, record: Recorder): Promise<void> {
  const net = bridgeNet(node);
  node.writeConflist({
    cniVersion: "1.0.0",
    name: net.network,
    plugins: [
      {
        type: "bridge",
        bridge: net.bridge,
        isGateway: true,
        ipam: { type: "host-local", ranges: [[{ subnet: net.subnet }]], dataDir: node.dataDir },
      },
      {
        type: "portmap",
        SNAT: false,
        RuntimeConfig: { PortMappings: [{ HostPort: 18090, ContainerPort: 8080, Protocol: "tcp" }] },
      },
    ],
  });
  const client = clientFor(node, "1.0.0");
  const pod = await node.addPod();
  const add = await client.add(net.network, pod);
  await record("add", add);
  expectOk(add, "ADD");
  expect((await forwardingRules(node)).join("\n"), 'the mapping from "RuntimeConfig"').toContain("--dport 18090");
  // DEL is not compared: Debian's portmap leaves an empty ip6 nat table behind (docs/parity.md#portmap).
  expectOk(await client.del(net.network, pod), "DEL");
  expect((await forwardingRules(node)).join("\n")).not.toContain("18090");
}

/** nft lists iptables-nft rules with live counters: not part of what is compared. */
function countersHidden(run: TwinRun): TwinRun {
  const hide = (l: string) => l.replace(/counter packets \d+ bytes \d+/g, "counter");
  for (const step of [...run.reference.steps, ...run.ours.steps]) {
    const state = step.state as { nft?: string[] };
    state.nft = state.nft?.map(hide);
  }
  return run;
}

describe("portmap config keys match as in Go's encoding/json", () => {
  const sandbox = useSandbox();
  const bin = privateBinDir({ portmap: "ours" });
  afterAll(() => bin.remove());
  it("SNAT and RuntimeConfig.PortMappings in any case: same rules as Debian's portmap", async () => {
    const run = await runTwin(sandbox, portmapMixedCase, {
      cniPathFor: (impl) => (impl === "ours" ? [bin.dir] : [REFERENCE_BIN]),
    });
    expectSameAsReference(countersHidden(run));
  });
});
