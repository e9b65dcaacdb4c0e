/**
 * Our bridge + host-local on the basic scenario (the reference runs the same one in
 * harness.test.ts): alone for every cniVersion, and side by side with the Go plugins where
 * libcni can drive both (≤ 1.0.0).
 */
import { beforeAll, describe, it } from "vitest";
import type { Allowance } from "./lib/compare.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { requireOursBuilt } from "./lib/paths.js";
import { runBridgeBasic } from "./lib/scenarios/bridge-basic.js";
import { itEachVersion, itMatchesReference } from "./lib/matrix.js";
import { useSandbox } from "./lib/use-sandbox.js";

/** Where ours deliberately differs from the reference, with the reason (empty: none yet). */
const DELIBERATE_DIFFERENCES: Allowance[] = [];

beforeAll(async () => {
  requireOursBuilt(["bridge", "host-local"]);
  await ensureCnitool();
});

describe("our bridge + host-local: basic attach/detach", () => {
  const sandbox = useSandbox();

  itEachVersion("ADD, CHECK where it exists, DEL, DEL again", async (version) => {
    const node = await sandbox.node({ impl: "ours" });
    await runBridgeBasic(node, version);
  });

  itMatchesReference(sandbox, "ADD, CHECK, DEL", (version) => (node, record) => runBridgeBasic(node, version, record), {
    allow: () => DELIBERATE_DIFFERENCES,
  });
});
