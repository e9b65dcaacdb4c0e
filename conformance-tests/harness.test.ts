import { beforeAll, describe, expect, it } from "vitest";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { netnsExists } from "./lib/netns.js";
import { existsSync } from "node:fs";
import { runBridgeBasic } from "./lib/scenarios/bridge-basic.js";
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
