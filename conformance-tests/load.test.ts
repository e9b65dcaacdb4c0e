/**
 * Load: pods added and deleted all at once, round after round, on one sandbox node, through
 * libcni: zero failures, zero duplicate addresses, zero leftovers. CI size here; scripts/soak
 * runs 100 pods x 5 rounds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { buildTestBin, chainPoints, privateBinDir, removePrivateBinDirs } from "../scripts/soak-lib/campaign.js";
import { formatLoad, runLoad } from "../scripts/soak-lib/load.js";
import { OURS_BIN, requireOursBuilt } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";

const sandbox = useSandbox();
const PODS = Number(process.env.CNI_TS_LOAD_PODS ?? 30);
const ROUNDS = Number(process.env.CNI_TS_LOAD_ROUNDS ?? 2);

/** A private link of the build, so a concurrent `npm run build` cannot pull it away mid-round. */
let bin = "";
beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
  bin = privateBinDir(OURS_BIN);
}, 300_000);
afterAll(removePrivateBinDirs);

describe("load", () => {
  it(`flannel chain: ${PODS} pods x ${ROUNDS} rounds concurrently`, { timeout: 600_000 }, async () => {
    const node = await sandbox.node({ cniPath: [bin] });
    const r = await runLoad(node, { kind: "flannel", pods: PODS, rounds: ROUNDS, networks: 1 });
    console.log(formatLoad(r));
    expect(r.failures).toEqual([]);
    expect(r.duplicates).toEqual([]);
    expect(r.leaks).toEqual([]);
  });

  it(
    `two network names sharing one bridge: ${PODS} pods x ${ROUNDS} rounds concurrently`,
    { timeout: 600_000 },
    async () => {
      const node = await sandbox.node({ cniPath: [bin] });
      const r = await runLoad(node, { kind: "bridge", pods: PODS, rounds: ROUNDS, networks: 2 });
      console.log(formatLoad(r));
      expect(r.failures).toEqual([]);
      expect(r.duplicates).toEqual([]);
      expect(r.leaks).toEqual([]);
    },
  );

  it(
    `flannel chain under crashes: ${PODS} pods x ${ROUNDS} rounds, a quarter of all ADDs and DELs SIGKILLed, DEL retried`,
    { timeout: 600_000 },
    async () => {
      const testBin = buildTestBin();
      const points = await chainPoints("flannel");
      const node = await sandbox.node({ cniPath: [testBin] });
      const r = await runLoad(node, {
        kind: "flannel",
        pods: PODS,
        rounds: ROUNDS,
        networks: 1,
        chaos: { add: points.ADD, del: points.DEL, rate: 0.25, seed: 7 },
      });
      console.log(formatLoad(r));
      expect(r.killed).toBeGreaterThan(0);
      expect(r.failures).toEqual([]);
      expect(r.duplicates).toEqual([]);
      expect(r.leaks).toEqual([]);
    },
  );
});
