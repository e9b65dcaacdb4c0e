/**
 * The bench's stopwatch: a small Go program (timer/main.go) started once per batch inside a
 * sandbox node's namespace. It times each process from fork to reap and reads its peak RSS from
 * wait4, so neither namespace entry nor this script's runtime is in any figure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TOOL_PATH } from "../../conformance-tests/lib/paths.js";
import { runCommand } from "../../conformance-tests/lib/run-command.js";
import type { SandboxNode } from "../../conformance-tests/lib/sandbox.js";

const TIMER_DIR = join(dirname(fileURLToPath(import.meta.url)), "timer");
const REPO = join(TIMER_DIR, "..", "..", "..");
export const TIMER = join(REPO, ".tmp", "bench-timer");

export interface Job {
  argv: string[];
  env: Record<string, string>;
  stdin?: string;
  /** Drop the page cache right before this job starts (cold start). */
  dropCaches?: boolean;
}

export interface JobOutcome {
  ms: number;
  /** User + system CPU time of the process and every descendant it reaped. */
  cpuMs: number;
  status: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
  error?: string;
}

export interface BatchOutcome {
  wallMs: number;
  results: JobOutcome[];
}

/** Builds the timer when it is missing or older than its source (Go from Debian, GOPATH mode, stdlib only). */
export async function ensureTimer(): Promise<string> {
  const source = join(TIMER_DIR, "main.go");
  if (existsSync(TIMER) && statSync(TIMER).mtimeMs >= statSync(source).mtimeMs) return TIMER;
  mkdirSync(dirname(TIMER), { recursive: true });
  const tmp = `${TIMER}.tmp-${process.pid}`;
  await runCommand(["go", "build", "-o", tmp, source], {
    env: {
      PATH: TOOL_PATH,
      HOME: process.env.HOME ?? "/root",
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      GOCACHE: join(REPO, ".tmp", "go-build"),
    },
    timeoutMs: 300_000,
  }).catch((e: Error) => {
    throw new Error(`cannot build the bench timer (needs golang-go): ${e.message}`);
  });
  await runCommand(["mv", "-f", tmp, TIMER], { env: { PATH: TOOL_PATH } });
  return TIMER;
}

/**
 * The start-up floor of a VERSION answer in our runtime: a program that only reads stdin and writes
 * one line to stdout (node:fs, synchronous), compiled exactly like dist/bin/cni-ts. VERSION cannot
 * be faster than this.
 */
const FLOOR_SOURCE =
  'import { readFileSync, writeSync } from "node:fs";\nconst firstLineMs = performance.now();\n' +
  'writeSync(1, `{"stdinBytes":${readFileSync(0).length},"firstLineMs":${firstLineMs}}\\n`);\n';

/** scripts/build.mjs's compiler flags (build-flags.test.ts keeps the two in step). */
export const BUILD_FLAGS = [
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  "--splitting",
  "--target=bun-linux-x64-baseline",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--compile-jit-policy=1000",
];

export const FLOOR = join(
  REPO,
  ".tmp",
  `bench-bun-floor-${createHash("sha256")
    .update(`${BUILD_FLAGS.join(" ")}\n${FLOOR_SOURCE}`)
    .digest("hex")
    .slice(0, 8)}`,
);

export async function ensureFloor(): Promise<string> {
  if (existsSync(FLOOR)) return FLOOR;
  mkdirSync(dirname(FLOOR), { recursive: true });
  const src = `${FLOOR}.ts`;
  writeFileSync(src, FLOOR_SOURCE);
  const tmp = `${FLOOR}.tmp-${process.pid}`;
  await runCommand([join(REPO, "node_modules", ".bin", "bun"), "build", ...BUILD_FLAGS, src, "--outfile", tmp], {
    env: { PATH: TOOL_PATH, HOME: process.env.HOME ?? "/root" },
    timeoutMs: 120_000,
  });
  await runCommand(["mv", "-f", tmp, FLOOR], { env: { PATH: TOOL_PATH } });
  return FLOOR;
}

interface RawOutcome {
  ns: number;
  cpuNs: number;
  status: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
  error?: string;
}

/**
 * With a priority, the timer and everything it starts run under SCHED_FIFO at that priority
 * (`chrt`), so other work on a shared machine stops competing for the CPU while a batch runs;
 * the kernel's RT throttling still leaves it 5% of every second.
 */
let realtimePriority: number | undefined;
export function setRealtime(priority: number | undefined): void {
  realtimePriority = priority;
}

/**
 * How a batch enters the node's network namespace: `ip netns exec` (a fresh mount namespace with
 * the node's /sys, as the conformance tests run plugins) or `nsenter --net` (the bench's own mount
 * namespace, which the resident service must share with its clients).
 */
export type NetnsEntry = "ip-netns-exec" | "nsenter";

export function enterArgv(node: SandboxNode, entry: NetnsEntry): string[] {
  return entry === "nsenter" ? ["nsenter", `--net=${node.path}`, "--"] : ["ip", "netns", "exec", node.name];
}

/** The prefix that runs a measured process under SCHED_FIFO when --rt asked for it. */
export function realtimeArgv(): string[] {
  return realtimePriority === undefined ? [] : ["chrt", "-f", String(realtimePriority)];
}

/** Runs the jobs inside the node's namespace: one after another, or all released at once. */
export async function runBatch(
  node: SandboxNode,
  jobs: readonly Job[],
  concurrent = false,
  entry: NetnsEntry = "ip-netns-exec",
): Promise<BatchOutcome> {
  const input = JSON.stringify({
    concurrent,
    jobs: jobs.map((j) => ({
      argv: j.argv,
      env: Object.entries(j.env).map(([k, v]) => `${k}=${v}`),
      stdin: j.stdin ?? "",
      dropCaches: j.dropCaches ?? false,
    })),
  });
  const r = await runInGroup([...enterArgv(node, entry), ...realtimeArgv(), TIMER], input);
  if (r.status !== 0) throw new Error(`bench timer failed (exit ${r.status}): ${r.stderr.trim()}`);
  const raw = JSON.parse(r.stdout) as { wallNs: number; results: RawOutcome[] };
  return {
    wallMs: raw.wallNs / 1e6,
    results: raw.results.map((o) => ({
      ms: o.ns / 1e6,
      cpuMs: o.cpuNs / 1e6,
      status: o.status,
      maxRssKb: o.maxRssKb,
      stdout: o.stdout,
      stderr: o.stderr,
      error: o.error,
    })),
  };
}

/** Timer process groups still running (the timer and every plugin it started share one group). */
const running = new Set<ChildProcess>();

/** Runs argv as the leader of a new process group, so abortBatches() can stop it with all its children. */
function runInGroup(argv: string[], input: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: TOOL_PATH, LC_ALL: "C" },
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      running.delete(child);
      reject(new Error(`cannot start ${argv[0]}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      running.delete(child);
      resolvePromise({
        status: code ?? 128,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? ` (signal ${signal})` : ""),
      });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Kills every running batch with the processes it started (Ctrl-C): none may still write into a
 * sandbox while it is being removed. Resolves once each group leader has exited.
 */
let aborted = false;
export function wasAborted(): boolean {
  return aborted;
}

export async function abortBatches(): Promise<void> {
  aborted = true;
  const waits = [...running].map(
    (child) =>
      new Promise<void>((done) => {
        child.once("close", () => done());
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          done(); // already gone
        }
      }),
  );
  await Promise.all(waits);
}
