/**
 * host-local through the real libcni client (Debian's libcni 1.1.2 in cnitool), side by side with
 * the Go host-local: a config list whose only plugin is host-local, several pods added, checked,
 * deleted twice. The harness diffs every result and every file of the node's dataDir per step.
 */
import { beforeAll, describe, expect } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import type { Allowance } from "./lib/compare.js";
import { itMatchesReference } from "./lib/matrix.js";
import { requireOursBuilt } from "./lib/paths.js";
import type { TwinScenario } from "./lib/twin.js";
import { useSandbox } from "./lib/use-sandbox.js";

beforeAll(async () => {
  requireOursBuilt(["host-local"]);
  await ensureCnitool();
});

function scenario(version: string): TwinScenario {
  return async (node, record) => {
    const name = node.uniqueName("hl-");
    node.writeConflist({
      cniVersion: version,
      name,
      plugins: [
        {
          type: "host-local",
          ipam: {
            type: "host-local",
            dataDir: node.dataDir,
            ranges: [[{ subnet: "10.123.0.0/29" }], [{ subnet: "fd12:3::/125" }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
      ],
    });
    const pods = [await node.addPod("a"), await node.addPod("b"), await node.addPod("c")];
    for (const pod of pods) {
      const added = await node.cnitool("add", name, pod);
      await record(`add ${pod.label}`, added);
      expectOk(added, "host-local ADD");
    }
    if (version === "0.4.0" || version === "1.0.0") {
      const checked = await node.cnitool("check", name, pods[1]!);
      await record("check b", checked);
      expectOk(checked, "host-local CHECK");
    }
    for (const label of [1, 1, 0]) {
      const deleted = await node.cnitool("del", name, pods[label]!);
      await record(`del ${pods[label]!.label}`, deleted);
      expectOk(deleted, "host-local DEL");
    }
    const again = await node.cnitool("add", name, pods[1]!);
    await record("add b again", again);
    expect(again.ok).toBe(true);
  };
}

/** Go 1.1.1's libcni types print a 1.0.0 result with an empty "dns": {}; v1.9.1 and ours drop it. */
const allow = (version: string): Allowance[] =>
  version === "1.0.0"
    ? [
        {
          path: /\.outcome\.result\.dns$/,
          reason: "Go 1.1.1 (cni 1.1.2 types) keeps an empty dns object in 1.0.0 results; cni >= 1.2 and ours omit it",
        },
      ]
    : [];

describe("host-local through libcni, ours vs the reference", () => {
  const sandbox = useSandbox();
  itMatchesReference(sandbox, "ADD three pods, CHECK, DEL twice, ADD again", scenario, {
    allow,
    allowUnused: true,
    twin: { firewall: false },
  });
});
