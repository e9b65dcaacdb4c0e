import { beforeAll, describe, it } from "vitest";
import type { Allowance } from "./lib/compare.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { requireOursBuilt } from "./lib/paths.js";
import { runBridgeBasic } from "./lib/scenarios/bridge-basic.js";
import { expectSameAsReference, runTwin } from "./lib/twin.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { SPEC_VERSIONS, viaLibcni } from "./lib/versions.js";

/**
 * Our bridge + host-local on the basic scenario (the reference runs the same one in
 * harness.test.ts): alone for every cniVersion, and side by side with the Go plugins where
 * libcni can drive both (≤ 1.0.0).
 */

/** Where ours deliberately differs from the reference, with the reason (empty: none yet). */
const DELIBERATE_DIFFERENCES: Allowance[] = [];

beforeAll(async () => {
  requireOursBuilt(["bridge", "host-local"]);
  await ensureCnitool();
});

describe("our bridge + host-local: basic attach/detach", () => {
  const sandbox = useSandbox();

  for (const version of SPEC_VERSIONS) {
    it(`cniVersion ${version}`, async () => {
      const node = await sandbox.node({ impl: "ours" });
      await runBridgeBasic(node, version);
    });
  }

  for (const version of SPEC_VERSIONS.filter(viaLibcni)) {
    it(`behaves like the reference, cniVersion ${version}`, async () => {
      const run = await runTwin(sandbox, (node, record) => runBridgeBasic(node, version, record));
      expectSameAsReference(run, DELIBERATE_DIFFERENCES);
    });
  }
});
