/**
 * Bad input: every plugin and verb, fed one defect at a time (truncated/oversized/garbage JSON,
 * wrong types, unknown versions, hostile ids/names/paths, invalid ranges, bad prevResults), must
 * answer with a CNI error JSON of the right code, exit 1, no stack trace, no leaked secret, and
 * leave the sandbox node untouched. The bulk runs in-process (same handler code, no spawn cost);
 * a few hundred go through the real executables.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateBinDir, removePrivateBinDirs } from "../scripts/soak-lib/campaign.js";
import { describeFailures, runFuzzSession } from "../scripts/soak-lib/fuzz-session.js";
import { PLUGIN_NAMES } from "../shared/plugins.js";
import { OURS_BIN, requireOursBuilt } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";

const sandbox = useSandbox();
const SEED = Number(process.env.CNI_TS_FUZZ_SEED ?? 20261123);
/** Every plugin of the suite (shared/plugin-names.json), named in the test title. */
const plugins = [...PLUGIN_NAMES];
let bin = "";
beforeAll(() => {
  requireOursBuilt();
  bin = privateBinDir(OURS_BIN);
});
afterAll(removePrivateBinDirs);

describe(`bad input (plugins: ${plugins.join(", ")})`, () => {
  it(
    "in-process: 2000 generated bad inputs all end in the right CNI error, node unchanged",
    { timeout: 600_000 },
    async () => {
      const node = await sandbox.node({ cniPath: [bin] });
      const { summary, namespaceChanges } = await runFuzzSession(node, {
        mode: "inproc",
        numRuns: 2000,
        seed: SEED,
        plugins,
      });
      expect(summary.tried).toBeGreaterThan(1900);
      expect(summary.failed, describeFailures(summary)).toBe(0);
      expect(namespaceChanges).toEqual([]);
    },
  );

  it("real executables: 200 generated bad inputs, node unchanged", { timeout: 600_000 }, async () => {
    const node = await sandbox.node({ cniPath: [bin] });
    const { summary, namespaceChanges } = await runFuzzSession(node, {
      mode: "exec",
      numRuns: 200,
      seed: SEED + 1,
      plugins,
    });
    expect(summary.tried).toBeGreaterThan(150);
    expect(summary.failed, describeFailures(summary)).toBe(0);
    expect(namespaceChanges).toEqual([]);
  });
});
