import { beforeAll, describe, expect, it } from "vitest";
import { bridgeNet } from "./lib/bridge-scenarios.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { cidrsOf, link } from "./lib/observe.js";
import { requireOursBuilt } from "./lib/paths.js";
import type { SandboxNode } from "./lib/sandbox.js";
import { type Recorder, expectSameAsReference, runTwin } from "./lib/twin.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { clientFor } from "./lib/versions.js";

/**
 * Config keys are matched as Go's encoding/json matches them (shared/cni/go-keys.ts): the Go
 * bridge and host-local honour `"Bridge"`, `"IsGateway"`, `"IPAM": {"Ranges": …}`, a
 * `"RuntimeConfig"` key, and KELVIN SIGN / LONG S folded to k / s. Side by side with Debian's Go
 * plugins through libcni: same results, same node and pod state after ADD, CHECK and DEL.
 */
beforeAll(async () => {
  requireOursBuilt(["bridge", "host-local"]);
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
  expect((await link(node, net.bridge))?.mtu, "the bridge named by \"Bridge\"").toBe(1400);
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
