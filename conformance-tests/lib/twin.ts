/**
 * Side by side: the same scenario runs in two twin sandboxes sharing one token (so names, subnets
 * and container ids are identical), one with the Go reference plugins, one with ours. At each step
 * the scenario reports, the outcome and the full sandbox state are recorded, normalised, and later
 * diffed.
 */
import type { CniOutcome } from "./cni-calls.js";
import { type Allowance, type Difference, type Verdict, diff, formatVerdict, judge } from "./compare.js";
import { normaliserFor } from "./normalise.js";
import type { Impl } from "./paths.js";
import { type NodeOptions, type SandboxNode, newToken } from "./sandbox.js";
import { captureState } from "./state.js";
import type { SandboxScope } from "./use-sandbox.js";

export type Recorder = (step: string, outcome?: CniOutcome) => Promise<void>;
export type TwinScenario = (node: SandboxNode, record: Recorder, impl: Impl) => Promise<void>;

export interface StepRecord {
  step: string;
  outcome: { status: number; result?: unknown; error?: unknown } | null;
  state: unknown;
}

export interface SideRun {
  impl: Impl;
  node: SandboxNode;
  steps: StepRecord[];
  /** What the scenario threw on this side, if anything. */
  error?: unknown;
}

export interface TwinRun {
  reference: SideRun;
  ours: SideRun;
}

export interface TwinOptions {
  /** Capture iptables/nft rules at every step (default true). */
  firewall?: boolean;
  /** Extra node options, applied to both sides (cniPath is per side: use cniPathFor). */
  node?: Omit<NodeOptions, "impl" | "token" | "cniPath">;
  /** CNI_PATH per side, e.g. a private dir with a fake plugin first. Default: the side's bin dir. */
  cniPathFor?: (impl: Impl) => string[] | undefined;
}

export async function runTwin(sandbox: SandboxScope, scenario: TwinScenario, opts: TwinOptions = {}): Promise<TwinRun> {
  const token = newToken();
  const side = async (impl: Impl): Promise<SideRun> => {
    const node = await sandbox.node({ ...opts.node, impl, token, cniPath: opts.cniPathFor?.(impl) });
    const run: SideRun = { impl, node, steps: [] };
    const record: Recorder = async (step, outcome) => {
      const state = await captureState(node, { firewall: opts.firewall });
      const { renames, ...rest } = state;
      const normalise = normaliserFor(node, new Map(Object.entries(renames)));
      run.steps.push({
        step,
        outcome: outcome ? (normalise(outcomeView(outcome)) as StepRecord["outcome"]) : null,
        state: normalise(rest),
      });
    };
    try {
      await scenario(node, record, impl);
    } catch (e) {
      run.error = e;
    }
    return run;
  };
  const [reference, ours] = await Promise.all([side("reference"), side("ours")]);
  return { reference, ours };
}

/** What of an outcome is compared: exit status, the result, or the error (JSON or libcni's text). */
function outcomeView(o: CniOutcome): { status: number; result?: unknown; error?: unknown } {
  if (o.ok) return { status: o.status, result: o.json };
  return { status: o.status, error: o.json ?? o.stderr.trim() };
}

/** Differences between the two sides, step by step ("<step>.outcome…" / "<step>.state…"). */
export function twinDifferences(run: TwinRun): Difference[] {
  const byStep = (s: SideRun): Record<string, unknown> =>
    Object.fromEntries(s.steps.map((x) => [x.step, { outcome: x.outcome, state: x.state }]));
  return diff(byStep(run.reference), byStep(run.ours));
}

/**
 * Fails unless ours behaved like the reference everywhere the allow-list does not say otherwise.
 * A failing reference side means the scenario's own expectations are wrong: reported as such.
 */
export function expectSameAsReference(
  run: TwinRun,
  allowances: readonly Allowance[] = [],
  opts: { allowUnused?: boolean } = {},
): Verdict {
  if (run.reference.error !== undefined) {
    throw new Error(
      `the REFERENCE side failed, so the scenario itself is wrong:\n${describeError(run.reference.error)}`,
    );
  }
  const verdict = judge(twinDifferences(run), allowances);
  if (opts.allowUnused) verdict.unused = [];
  const problems: string[] = [];
  if (run.ours.error !== undefined)
    problems.push(`ours failed where the reference passed:\n${describeError(run.ours.error)}`);
  if (verdict.unexplained.length > 0 || verdict.unused.length > 0) problems.push(formatVerdict(verdict));
  if (problems.length > 0) throw new Error(problems.join("\n\n"));
  return verdict;
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}
