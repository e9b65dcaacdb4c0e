import { it } from "vitest";
import type { Allowance } from "./compare.js";
import type { Impl } from "./paths.js";
import { type TwinOptions, type TwinScenario, expectSameAsReference, runTwin } from "./twin.js";
import type { SandboxScope } from "./use-sandbox.js";
import { type SpecVersion, type Verb, implSupports, versionsFor, viaLibcni } from "./versions.js";

/**
 * Declares one test per cniVersion of the run matrix in which every verb the test uses exists
 * (and the implementation can run it: the reference stops at 1.0.0). Test names end in
 * "[cniVersion X]" so a failure names its version.
 */
export function itEachVersion(
  title: string,
  fn: (version: SpecVersion) => Promise<void>,
  opts: { verbs?: Verb[]; impl?: Impl } = {},
): void {
  const impl = opts.impl ?? "ours";
  for (const version of versionsFor(...(opts.verbs ?? ["ADD", "DEL"])).filter((v) => implSupports(impl, v))) {
    it(`${title} [cniVersion ${version}]`, () => fn(version));
  }
}

/**
 * Declares one side-by-side test per version both implementations run (≤ 1.0.0, through libcni):
 * the scenario runs against the reference and ours, and every difference must be on the
 * allow-list for that version, with its reason.
 */
export function itMatchesReference(
  sandbox: SandboxScope,
  title: string,
  scenario: (version: SpecVersion) => TwinScenario,
  opts: {
    verbs?: Verb[];
    allow?: (version: SpecVersion) => Allowance[];
    twin?: TwinOptions;
    allowUnused?: boolean;
  } = {},
): void {
  for (const version of versionsFor(...(opts.verbs ?? ["ADD", "DEL"])).filter(viaLibcni)) {
    it(`${title}: same as the reference [cniVersion ${version}]`, async () => {
      const run = await runTwin(sandbox, scenario(version), opts.twin);
      expectSameAsReference(run, opts.allow?.(version) ?? [], { allowUnused: opts.allowUnused });
    });
  }
}
