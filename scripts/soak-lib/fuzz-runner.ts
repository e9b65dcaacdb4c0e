/**
 * Runs generated bad inputs against the plugins and judges every outcome. Started by
 * conformance-tests/fuzz.test.ts and scripts/soak with Bun *inside the sandbox node's network
 * namespace* (`ip netns exec NODE bun scripts/soak-lib/fuzz-runner.ts SPEC.json`), so even the in-process
 * mode, which calls the handlers directly, can only ever affect the sandbox.
 *   mode "inproc": runPlugin() with an in-memory Io (fast: the bulk of the inputs)
 *   mode "exec":   the real executables from CNI_PATH, one process per input
 * Prints one JSON summary line on stdout.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as fc from "fast-check";
import { runPlugin, type Io } from "../../shared/cni/dispatch.js";
import type { Plugin } from "../../shared/cni/plugin.js";
import { type FuzzCase, type FuzzContext, type FuzzPlugin, execable, fuzzCase, oversizedCase } from "./fuzz-cases.js";
import { type FileSnapshot, diffSnapshots, snapshotTree } from "./files.js";
import { judgeOutcome } from "./fuzz-judge.js";
import { hostDirChanges, shieldHostDirs } from "./host-shield.js";

export interface RunnerSpec {
  ctx: FuzzContext;
  mode: "inproc" | "exec";
  numRuns: number;
  seed: number;
  /** Paths (inside ctx.sandboxDir) a plugin may legitimately change. */
  allowedDirs: string[];
  plugins?: FuzzPlugin[];
}

export interface RunnerFailure {
  plugin: string;
  verb: string;
  category: string;
  env: Record<string, string>;
  stdin: string;
  status: number;
  stdout: string;
  stderr: string;
  problems: string[];
}

export interface RunnerSummary {
  mode: string;
  tried: number;
  failed: number;
  crashes: number;
  fileChanges: number;
  byCategory: Record<string, number>;
  /** Every failing input counted by "plugin VERB [category] first problem". */
  failureKinds: Record<string, number>;
  failures: RunnerFailure[];
  ms: number;
}

const LOADERS: Record<FuzzPlugin, () => Promise<Plugin>> = {
  bridge: async () => (await import("../../plugins/bridge/index.js")).plugin,
  "host-local": async () => (await import("../../ipam/host-local/index.js")).plugin,
  flannel: async () => (await import("../../plugins/flannel/index.js")).plugin,
  loopback: async () => (await import("../../plugins/loopback/index.js")).plugin,
  portmap: async () => (await import("../../plugins/portmap/index.js")).plugin,
  bandwidth: async () => (await import("../../plugins/bandwidth/index.js")).plugin,
};

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

async function runInProcess(c: FuzzCase): Promise<Outcome> {
  const plugin = await LOADERS[c.plugin]();
  let stdout = "";
  let stderr = "";
  const io: Io = { readStdin: () => c.stdin, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(-1), 20_000);
  });
  let status: number;
  try {
    status = await Promise.race([runPlugin(plugin, c.env, io), timeout]);
  } catch (e) {
    status = -2;
    stderr += `runPlugin threw: ${(e as Error)?.stack ?? String(e)}`;
  } finally {
    clearTimeout(timer);
  }
  if (status === -1) stderr += "(no answer within 20 s)";
  return { status, stdout, stderr };
}

function runExecutable(c: FuzzCase, cniPath: string): Outcome {
  const r = spawnSync(join(cniPath, c.plugin), [], {
    env: c.env,
    input: c.stdin,
    timeout: 20_000,
    maxBuffer: 16 << 20,
  });
  const stderr = r.stderr?.toString() ?? "";
  return {
    status: r.status ?? (r.signal ? -3 : -1),
    stdout: r.stdout?.toString() ?? "",
    stderr: r.signal ? `${stderr}\n(signal ${r.signal})` : stderr,
  };
}

/** Only the CNI_* variables that differ from what a sane runtime sends are worth printing. */
function envForReport(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("CNI_")));
}

function preview(b: Buffer): string {
  const s = b.toString("utf8");
  return s.length > 1000 ? `${s.slice(0, 1000)}… (${b.length} bytes)` : s;
}

export async function runFuzz(spec: RunnerSpec): Promise<RunnerSummary> {
  const started = Date.now();
  const { ctx } = spec;
  const arb = fc.oneof(
    { weight: 200, arbitrary: fuzzCase(ctx, { plugins: spec.plugins }) },
    { weight: 1, arbitrary: oversizedCase(ctx) },
  );
  const cases = fc
    .sample(arb, { numRuns: spec.numRuns, seed: spec.seed })
    .filter((c) => spec.mode === "inproc" || execable(c));
  const summary: RunnerSummary = {
    mode: spec.mode,
    tried: 0,
    failed: 0,
    crashes: 0,
    fileChanges: 0,
    byCategory: {},
    failureKinds: {},
    failures: [],
    ms: 0,
  };
  const secret = readFileSync(ctx.secretFile, "utf8").trim();
  const shielded = shieldHostDirs();
  process.chdir(join(ctx.sandboxDir, "work")); // relative paths a plugin accepts land in the sandbox
  let hostTouched = false;
  let before: FileSnapshot = snapshotTree(ctx.sandboxDir, spec.allowedDirs);
  for (const c of cases) {
    const out = spec.mode === "inproc" ? await runInProcess(c) : runExecutable(c, ctx.cniPath);
    const problems = judgeOutcome(c, out, secret);
    const after = snapshotTree(ctx.sandboxDir, spec.allowedDirs);
    const changed = diffSnapshots(before, after);
    if (changed.length > 0) {
      summary.fileChanges++;
      problems.push(`files outside the data dirs changed: ${changed.slice(0, 5).join(", ")}`);
      before = after;
    }
    if (!hostTouched) {
      const host = hostDirChanges(shielded);
      if (host.length > 0) {
        hostTouched = true; // reported once: later inputs would all see the same files
        summary.fileChanges++;
        problems.push(`wrote to the host's CNI directories: ${host.join(" ")}`);
      }
    }
    summary.tried++;
    summary.byCategory[c.category] = (summary.byCategory[c.category] ?? 0) + 1;
    if (problems.some((p) => p.startsWith("crash"))) summary.crashes++;
    if (problems.length > 0) {
      summary.failed++;
      const kind = `${c.plugin} ${c.verb} [${c.category}] ${problems[0]}`;
      summary.failureKinds[kind] = (summary.failureKinds[kind] ?? 0) + 1;
      if (summary.failures.length < 40) {
        summary.failures.push({
          plugin: c.plugin,
          verb: c.verb,
          category: c.category,
          env: envForReport(c.env),
          stdin: preview(c.stdin),
          status: out.status,
          stdout: out.stdout.slice(0, 600),
          stderr: out.stderr.slice(0, 600),
          problems,
        });
      }
    }
  }
  summary.ms = Date.now() - started;
  return summary;
}

if (process.argv[1]?.endsWith("soak-lib/fuzz-runner.ts")) {
  const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as RunnerSpec;
  const summary = await runFuzz(spec);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
