/**
 * Crash safety: the chain is SIGKILLed at every fault point one ADD and one DEL pass (process
 * starts, delegations, state-file writes), then the runtime retries DEL or runs GC, and the node is
 * audited: no reservation without a pod, no veth, no masquerade/portmap rule, no saved flannel
 * config, no ifb or qdisc of bandwidth (k3s chain), no temp/empty file, and the pods added afterwards get unique addresses.
 * (scripts/soak runs every point with both recoveries, several times.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCnitool } from "./lib/cnitool-build.js";
import {
  buildTestBin,
  describeCampaign,
  removePrivateBinDirs,
  runColdCampaign,
  runFaultCampaign,
} from "../scripts/soak-lib/campaign.js";
import type { ChainKind } from "../scripts/soak-lib/chains.js";
import { useSandbox } from "./lib/use-sandbox.js";

const sandbox = useSandbox();

let testBin = "";
beforeAll(async () => {
  await ensureCnitool();
  testBin = buildTestBin();
}, 300_000);
afterAll(removePrivateBinDirs);

const CHAINS: ChainKind[] = ["flannel", "bridge", "k3s"];

describe("crash safety", () => {
  for (const kind of CHAINS) {
    it(
      `${kind} chain: SIGKILL at every point of ADD, DEL and GC, then DEL retry or GC, leaves nothing`,
      { timeout: 600_000 },
      async () => {
        const node = await sandbox.node({ cniPath: [testBin] });
        const r = await runFaultCampaign(node, kind, {
          recoveries: "alternate",
          repeat: 1,
          bystanders: 2,
          afterwards: 5,
        });
        expect(r.points.ADD, "the ADD passed no fault point: is dist/test-bin a test build?").toBeGreaterThan(3);
        expect(r.points.DEL).toBeGreaterThan(3);
        expect(r.points.GC).toBeGreaterThan(3);
        expect(
          r.reached,
          "most kills must happen (a point the chain no longer passes is a stale enumeration)",
        ).toBeGreaterThan(r.trials * 0.8);
        expect(r.leaks + r.finalLeaks.length, describeCampaign(r)).toBe(0);
        expect(r.duplicates + r.finalDuplicates.length, describeCampaign(r)).toBe(0);
      },
    );
  }

  it(
    "bridge chain, first ADD on a fresh node (bridge, address, firewall chains being built): kill at every point, recover, then pods attach cleanly",
    { timeout: 600_000 },
    async () => {
      const r = await runColdCampaign("bridge", "alternate");
      expect(r.points.ADD).toBeGreaterThan(3);
      expect(r.reached).toBeGreaterThan(r.trials * 0.8);
      expect(r.leaks + r.finalLeaks.length, describeCampaign(r)).toBe(0);
      expect(r.duplicates + r.finalDuplicates.length, describeCampaign(r)).toBe(0);
    },
  );
});
