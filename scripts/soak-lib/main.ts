/**
 * The soak run behind scripts/soak: fault trials on both chains, pod churn, fuzzed inputs, all in
 * sandboxed nodes; prints the figures and exits non-zero on any leak, duplicate, failure or crash.
 *   --quick   CI size (< 90 s): every other fault point (which half rotates with the seed) once,
 *             12 pods x 2 rounds, 2,000 + 100 inputs
 *   (full)    every point x both recoveries x 2 (also a dual-stack flannel chain), plus every point of a
 *             node's first ADD x both recoveries,
 *             100 pods x 5 rounds (two scenarios) + 2 rounds with 20% of operations SIGKILLed,
 *             10,000 + 500 inputs
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ensureCnitool } from "../../conformance-tests/lib/cnitool-build.js";
import {
  buildTestBin,
  privateBinDir,
  type CampaignResult,
  chainPoints,
  describeCampaign,
  runColdCampaign,
  runFaultCampaign,
} from "./campaign.js";
import type { ChainKind } from "./chains.js";
import { describeFailures, runFuzzSession } from "./fuzz-session.js";
import { type LoadResult, formatLoad, runLoad } from "./load.js";
import { REPO_ROOT } from "../../conformance-tests/lib/paths.js";
import { type SandboxNode, createNode } from "../../conformance-tests/lib/sandbox.js";
import { PLUGIN_NAMES } from "../../shared/plugins.js";

interface Plan {
  name: string;
  faults: { recoveries: "alternate" | "both"; repeat: number; cold: boolean; stride: number };
  load: { pods: number; rounds: number; twoNetworks: boolean; chaosRounds: number };
  fuzz: { inproc: number; exec: number };
}

const QUICK: Plan = {
  name: "quick",
  faults: { recoveries: "alternate", repeat: 1, cold: false, stride: 2 },
  load: { pods: 12, rounds: 2, twoNetworks: false, chaosRounds: 0 },
  fuzz: { inproc: 2000, exec: 100 },
};
const FULL: Plan = {
  name: "full",
  faults: { recoveries: "both", repeat: 2, cold: true, stride: 1 },
  load: { pods: 100, rounds: 5, twoNetworks: true, chaosRounds: 2 },
  fuzz: { inproc: 10_000, exec: 500 },
};

async function withNode<T>(opts: Parameters<typeof createNode>[0], fn: (n: SandboxNode) => Promise<T>): Promise<T> {
  const node = await createNode(opts);
  try {
    return await fn(node);
  } finally {
    await node.teardown();
  }
}

/** Comma-separated items in lines of at most `width` characters. */
function wrap(items: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const item of items) {
    if (cur && cur.length + item.length + 2 > width) {
      lines.push(`${cur},`);
      cur = "";
    }
    cur = cur ? `${cur}, ${item}` : item;
  }
  if (cur) lines.push(cur);
  return lines;
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

async function main(): Promise<number> {
  const plan = process.argv.includes("--quick") ? QUICK : FULL;
  const seed = Number(process.env.CNI_TS_FUZZ_SEED ?? Date.now() % 1_000_000);
  const started = Date.now();
  const out: string[] = [];
  const say = (line: string): void => {
    out.push(line);
    process.stdout.write(`${line}\n`);
  };
  process.stderr.write("soak: building dist/bin, dist/test-bin and the libcni client…\n");
  execFileSync("node", ["scripts/build.mjs"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
  await ensureCnitool();
  const landed = [...PLUGIN_NAMES];
  const bin = privateBinDir(join(REPO_ROOT, "dist", "bin")); // immune to concurrent rebuilds
  const testBin = buildTestBin();
  say(
    `cni-ts soak (${plan.name}) ${new Date().toISOString()} commit ${git(["rev-parse", "--short", "HEAD"])}${git(["status", "--porcelain", "--untracked-files=no"]) ? " (+ uncommitted changes)" : ""}`,
  );
  say(`plugins: ${landed.join(", ")}; fuzz seed ${seed}`);

  // 1. Crash safety, both chains in parallel (separate nodes).
  process.stderr.write("soak: fault trials…\n");
  // The quick (CI) soak keeps its two chains within its 90 s; faults.test.ts runs the k3s chain in the suite.
  const kinds: ChainKind[] =
    plan.name === "full" ? ["flannel", "bridge", "flannel-dual", "k3s"] : ["flannel", "bridge"];
  const campaigns: CampaignResult[] = await Promise.all(
    kinds.map((kind) =>
      withNode({ cniPath: [testBin] }, (node) =>
        runFaultCampaign(node, kind, { ...plan.faults, offset: seed, bystanders: 2, afterwards: 5 }),
      ),
    ),
  );
  if (plan.faults.cold) {
    const coldKinds: ChainKind[] = ["flannel", "bridge"];
    campaigns.push(...(await Promise.all(coldKinds.map((kind) => runColdCampaign(kind, plan.faults.recoveries)))));
  }
  const trials = campaigns.reduce((n, c) => n + c.trials, 0);
  const leaks = campaigns.reduce((n, c) => n + c.leaks + c.finalLeaks.length, 0);
  const dups = campaigns.reduce((n, c) => n + c.duplicates + c.finalDuplicates.length, 0);
  say("");
  say(
    `FAULT TRIALS: ${trials} trials (${campaigns.reduce((n, c) => n + c.reached, 0)} killed at their point), leaks found ${leaks}, duplicates found ${dups}`,
  );
  for (const c of campaigns) {
    const cold = c.points.DEL === 0 ? " (first ADD on a fresh node, one node per trial)" : "";
    const gc = c.points.GC ? ` + ${c.points.GC} GC points` : "";
    say(
      `  ${c.chain} chain${cold}: ${c.points.ADD} ADD points + ${c.points.DEL} DEL points${gc}, ${c.trials} trials in ${(c.ms / 1000).toFixed(1)} s`,
    );
    const byCount = new Map<number, string[]>();
    for (const [k, n] of Object.entries(c.perPoint))
      byCount.set(n, [...(byCount.get(n) ?? []), k.replace(`${c.chain} `, "")]);
    for (const [n, ks] of byCount) {
      say(`    ${n} trial(s) each at ${ks.length} points:`);
      for (const line of wrap(ks, 110)) say(`      ${line}`);
    }
    const why = describeCampaign(c);
    if (why)
      say(
        why
          .split("\n")
          .map((l) => `    LEAK ${l}`)
          .join("\n"),
      );
  }

  // 2. Load.
  process.stderr.write("soak: load…\n");
  const loads: LoadResult[] = [];
  loads.push(
    await withNode({ cniPath: [bin] }, (node) =>
      runLoad(node, { kind: "flannel", pods: plan.load.pods, rounds: plan.load.rounds, networks: 1 }),
    ),
  );
  if (plan.load.twoNetworks) {
    loads.push(
      await withNode({ cniPath: [bin] }, (node) =>
        runLoad(node, { kind: "bridge", pods: plan.load.pods, rounds: plan.load.rounds, networks: 2 }),
      ),
    );
  }
  if (plan.load.chaosRounds > 0) {
    const points = await chainPoints("flannel");
    const chaos = { add: points.ADD, del: points.DEL, rate: 0.2, seed };
    loads.push(
      await withNode({ cniPath: [testBin] }, (node) =>
        runLoad(node, { kind: "flannel", pods: plan.load.pods, rounds: plan.load.chaosRounds, networks: 1, chaos }),
      ),
    );
  }
  const loadFailures = loads.reduce((n, l) => n + l.failures.length, 0);
  const loadLeaks = loads.reduce((n, l) => n + l.leaks.length, 0);
  const loadDups = loads.reduce((n, l) => n + l.duplicates.length, 0);
  say("");
  say(`LOAD: failures ${loadFailures}, duplicates ${loadDups}, leftovers ${loadLeaks}`);
  for (const l of loads) {
    say(
      formatLoad(l)
        .split("\n")
        .map((x) => `  ${x}`)
        .join("\n"),
    );
    for (const x of [...l.failures, ...l.duplicates, ...l.leaks].slice(0, 5)) say(`    PROBLEM ${x}`);
  }

  // 3. Bad input.
  process.stderr.write("soak: fuzzing…\n");
  const fuzz = await withNode({ cniPath: [bin] }, async (node) => [
    await runFuzzSession(node, { mode: "inproc", numRuns: plan.fuzz.inproc, seed, plugins: landed }),
    await runFuzzSession(node, { mode: "exec", numRuns: plan.fuzz.exec, seed: seed + 1, plugins: landed }),
  ]);
  const tried = fuzz.reduce((n, f) => n + f.summary.tried, 0);
  const crashes = fuzz.reduce((n, f) => n + f.summary.crashes, 0);
  const wrong = fuzz.reduce((n, f) => n + f.summary.failed, 0);
  const changes = fuzz.reduce((n, f) => n + f.summary.fileChanges + f.namespaceChanges.length, 0);
  say("");
  say(`FUZZ: inputs tried ${tried}, crashes found ${crashes}, wrong answers ${wrong}, node changes ${changes}`);
  for (const f of fuzz) {
    const cats = Object.keys(f.summary.byCategory).length;
    say(
      `  ${f.summary.mode}: ${f.summary.tried} inputs over ${cats} defect categories in ${(f.summary.ms / 1000).toFixed(1)} s`,
    );
    for (const [kind, n] of Object.entries(f.summary.failureKinds)) say(`    WRONG ${n}x ${kind}`);
    if (f.summary.failed)
      say(
        describeFailures(f.summary, 1)
          .split("\n")
          .map((l) => `    e.g. ${l}`)
          .join("\n"),
      );
    for (const c of f.namespaceChanges.slice(0, 5)) say(`    NODE CHANGE ${c}`);
  }

  const bad = leaks + dups + loadFailures + loadLeaks + loadDups + crashes + wrong + changes;
  say("");
  say(
    `SUMMARY: fault trials ${trials}, leaks ${leaks + loadLeaks}, duplicates ${dups + loadDups}, load failures ${loadFailures}, inputs ${tried}, crashes ${crashes}, wrong answers ${wrong}, node changes ${changes}`,
  );
  say(`RESULT: ${bad === 0 ? "PASS" : "FAIL"} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bad === 0 ? 0 : 1;
}

process.on("SIGINT", () => process.exit(130)); // runs the sandboxes' exit-time cleanup
process.on("SIGTERM", () => process.exit(143));
main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`soak: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);
