import { PLUGIN_NAMES } from "../../shared/plugins.js";
import { execFileSync } from "node:child_process";
import { linkSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChainKind, setupChain } from "./chains.js";
import { type FaultFigures, FaultLab, type FaultPoint, type Recovery, type TrialResult, summarize } from "./trials.js";
import { REPO_ROOT } from "../../conformance-tests/lib/paths.js";
import { type SandboxNode, createNode } from "../../conformance-tests/lib/sandbox.js";

/** Where the test build (fault hook compiled in) is written: same hard-link names, separate directory. */
const BUILT_TEST_BIN = join(REPO_ROOT, "dist", "test-bin");
export { PLUGIN_NAMES };

/**
 * A private copy of a build: hard links to the multi-call file under every plugin name, in a temp
 * dir removed at exit. Other tests and helpers rebuild dist/ concurrently (a rebuild briefly
 * unlinks the names); a trial must not see that, nor a binary changing under it.
 */
const privateDirs = new Set<string>();

export function privateBinDir(builtDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-bins-"));
  if (privateDirs.size === 0) process.once("exit", removePrivateBinDirs);
  privateDirs.add(dir);
  const multi = join(dir, "cni-ts");
  linkSync(join(builtDir, "cni-ts"), multi); // the build renames a finished file into place: always whole
  for (const name of PLUGIN_NAMES) linkSync(multi, join(dir, name));
  return dir;
}

/** Removes this process's private copies (test files call it in afterAll: vitest workers may not see "exit"). */
export function removePrivateBinDirs(): void {
  for (const dir of privateDirs) rmSync(dir, { recursive: true, force: true });
  privateDirs.clear();
  TEST_BIN = BUILT_TEST_BIN;
}

/** The test build's private directory for this process (built on first use). */
export let TEST_BIN = BUILT_TEST_BIN;

/** Newest modification time of anything the executable is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const d of ["shared", "plugins", "ipam"]) walk(join(REPO_ROOT, d));
  for (const f of ["package.json", "scripts/build.mjs"])
    newest = Math.max(newest, statSync(join(REPO_ROOT, f)).mtimeMs);
  return newest;
}

function testBuildIsFresh(): boolean {
  try {
    return statSync(join(BUILT_TEST_BIN, "cni-ts")).mtimeMs > newestSource();
  } catch {
    return false;
  }
}

/**
 * Builds dist/test-bin unless it is newer than every source (several test files and helpers use
 * it; rebuilding briefly unlinks its names), then takes this process's private copy.
 */
export function buildTestBin(): string {
  if (TEST_BIN !== BUILT_TEST_BIN) return TEST_BIN;
  if (!testBuildIsFresh())
    execFileSync(
      process.execPath.endsWith("bun") ? "node" : process.execPath,
      [join(REPO_ROOT, "scripts", "build.mjs"), "--test-hooks"],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  TEST_BIN = privateBinDir(BUILT_TEST_BIN);
  return TEST_BIN;
}

export interface CampaignOptions {
  /** "alternate": each point gets one recovery (del, gc, del, …); "both": each point gets both. */
  recoveries: "alternate" | "both";
  /** Passes over the point list. */
  repeat: number;
  /** Only every `stride`-th point (starting at `offset`): a quick run covers a rotating part. */
  stride?: number;
  offset?: number;
  /** Pods attached before the trials that must survive them untouched. */
  bystanders: number;
  /** Pods added after the trials (their addresses must be unique and consistent). */
  afterwards: number;
}

export interface CampaignResult extends FaultFigures {
  chain: ChainKind;
  points: { ADD: number; DEL: number; GC?: number };
  /** Problems found after the trials: the fresh pods, then the final delete-everything audit. */
  finalLeaks: string[];
  finalDuplicates: string[];
  ms: number;
}

/**
 * Kills the chain at every point of ADD and DEL (the node must use TEST_BIN as CNI_PATH), recovers
 * as a runtime would, audits after each trial; then kills GC at each of its points while it reclaims
 * a pod whose DEL never came; then adds fresh pods and finally deletes everything.
 */
export async function runFaultCampaign(
  node: SandboxNode,
  kind: ChainKind,
  opts: CampaignOptions,
): Promise<CampaignResult> {
  const started = Date.now();
  const lab = new FaultLab(node, setupChain(node, kind));
  const bystanders = await lab.addPods(opts.bystanders);
  const all = await lab.enumerate();
  const take = (ps: FaultPoint[]): FaultPoint[] =>
    ps.filter((_, i) => i % (opts.stride ?? 1) === (opts.offset ?? 0) % (opts.stride ?? 1));
  const points = { ADD: take(all.ADD), DEL: take(all.DEL) };
  const results: TrialResult[] = [];
  let turn = 0;
  for (let pass = 0; pass < opts.repeat; pass++) {
    for (const verb of ["ADD", "DEL"] as const) {
      for (const point of points[verb]) {
        const recoveries: Recovery[] = opts.recoveries === "both" ? ["del", "gc"] : [turn++ % 2 === 0 ? "del" : "gc"];
        for (const recovery of recoveries) results.push(await lab.trial(verb, point, recovery));
      }
    }
  }
  const gcPoints = take(await lab.enumerateGc());
  for (let pass = 0; pass < opts.repeat; pass++) {
    for (const point of gcPoints) results.push(await lab.gcTrial(point));
  }
  const fresh = await lab.addPods(opts.afterwards);
  const afterAdd = await lab.newLeaks();
  const finalLeaks = [...afterAdd.leaks];
  const finalDuplicates = [...afterAdd.duplicates];
  for (const pod of [...bystanders, ...fresh]) {
    const r = await lab.del(pod);
    if (!r.ok) finalLeaks.push(`DEL of ${pod.containerId} failed: ${r.stderr.trim()}`);
  }
  const end = await lab.newLeaks();
  finalLeaks.push(...end.leaks);
  finalDuplicates.push(...end.duplicates);
  for (const pod of [...bystanders, ...fresh]) await lab.removeSandbox(pod);
  return {
    chain: kind,
    points: { ADD: points.ADD.length, DEL: points.DEL.length, GC: gcPoints.length },
    ...summarize(results),
    finalLeaks,
    finalDuplicates,
    ms: Date.now() - started,
  };
}

/** One line per failing trial, for assertion messages and the soak report. */
export function describeCampaign(r: CampaignResult, max = 10): string {
  const lines = r.failures
    .slice(0, max)
    .map(
      (t) => `${t.chain} ${t.verb} kill@${t.point} then ${t.recovery}: ${[...t.leaks, ...t.duplicates].join(" | ")}`,
    );
  if (r.finalLeaks.length || r.finalDuplicates.length)
    lines.push(`after the trials: ${[...r.finalLeaks, ...r.finalDuplicates].join(" | ")}`);
  return lines.join("\n");
}

async function onFreshNode<T>(fn: (node: SandboxNode) => Promise<T>): Promise<T> {
  const node = await createNode({ cniPath: [TEST_BIN] });
  try {
    return await fn(node);
  } finally {
    await node.teardown();
  }
}

/**
 * The first ADD on a node also creates the bridge, its address, forwarding and the firewall
 * chains. Each of its points gets a fresh node: kill there, recover, then two pods must attach
 * cleanly to whatever the killed ADD left half-built.
 */
export async function runColdCampaign(kind: ChainKind, recoveries: "alternate" | "both"): Promise<CampaignResult> {
  const started = Date.now();
  const points = await onFreshNode(async (node) => (await new FaultLab(node, setupChain(node, kind)).enumerate()).ADD);
  const results: TrialResult[] = [];
  const finalLeaks: string[] = [];
  const finalDuplicates: string[] = [];
  let turn = 0;
  for (const point of points) {
    const recs: Recovery[] = recoveries === "both" ? ["del", "gc"] : [turn++ % 2 === 0 ? "del" : "gc"];
    for (const recovery of recs) {
      await onFreshNode(async (node) => {
        const lab = new FaultLab(node, setupChain(node, kind));
        const r = await lab.trial("ADD", point, recovery);
        results.push({ ...r, point: `cold:${r.point}` });
        try {
          const pods = await lab.addPods(2);
          const after = await lab.newLeaks();
          finalLeaks.push(...after.leaks.map((l) => `after cold kill@${r.point}/${recovery}: ${l}`));
          finalDuplicates.push(...after.duplicates);
          for (const pod of pods) await lab.del(pod);
          finalLeaks.push(
            ...(await lab.newLeaks()).leaks.map((l) => `after cold kill@${r.point}/${recovery} and DEL: ${l}`),
          );
        } catch (e) {
          finalLeaks.push(`after cold kill@${r.point}/${recovery}: ${(e as Error).message.slice(0, 300)}`);
        }
      });
    }
  }
  return {
    chain: kind,
    points: { ADD: points.length, DEL: 0 },
    ...summarize(results),
    finalLeaks,
    finalDuplicates,
    ms: Date.now() - started,
  };
}

/** The fault points of one warm ADD and DEL of a chain (enumerated on a fresh test-build node). */
export async function chainPoints(kind: ChainKind): Promise<Record<"ADD" | "DEL", FaultPoint[]>> {
  return onFreshNode(async (node) => {
    const lab = new FaultLab(node, setupChain(node, kind));
    await lab.addPods(1);
    return lab.enumerate();
  });
}
