import { spawnSync } from "node:child_process";
import { CniError, ErrorCode } from "../cni/errors.js";
import { faultPoint } from "../cni/fault.js";

/**
 * The one place that starts kernel-facing processes (ip, nsenter, sysctl, iptables, nft).
 * Argument arrays only, never a shell. Every call is one process; callers batch.
 */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Run inside this network namespace (a path such as /var/run/netns/x or /proc/PID/ns/net). */
  netns?: string;
  input?: string;
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  /** What the caller was doing, for the error message. */
  what?: string;
}

let runCount = 0;
/** How many processes this invocation started (reported by the trace). */
export function processCount(): number {
  return runCount;
}

export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
  const full = opts.netns ? ["nsenter", `--net=${opts.netns}`, "--", ...argv] : [...argv];
  runCount++;
  faultPoint(`exec#${runCount}:before`);
  const r = spawnSync(full[0]!, full.slice(1), {
    input: opts.input ?? "",
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env.PATH || "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    maxBuffer: 64 << 20,
  });
  if (r.error) {
    throw new CniError(ErrorCode.Internal, `failed to run ${full[0]}: ${r.error.message}`, "is iproute2/util-linux installed?");
  }
  faultPoint(`exec#${runCount}:after`);
  const res = { status: r.status ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  if (res.status !== 0 && opts.check !== false) {
    const what = opts.what ?? argv.join(" ");
    throw new CniError(ErrorCode.Internal, `${what}: ${firstLine(res.stderr) || `exit status ${res.status}`}`);
  }
  return res;
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}

/**
 * Runs `ip -batch -` with the given lines (one process; inside `netns` through nsenter when given).
 * With `json`, show commands print JSON arrays, one per line of output.
 */
export function ipBatch(lines: readonly string[], opts: RunOptions & { json?: boolean; force?: boolean } = {}): RunResult {
  const args = ["ip"];
  if (opts.json) args.push("-j");
  if (opts.force) args.push("-force");
  args.push("-batch", "-");
  return run(args, { ...opts, input: `${lines.join("\n")}\n` });
}

/** Parses the concatenated JSON arrays that `ip -j -batch` prints for several show commands. */
export function parseJsonStream(text: string): unknown[][] {
  const out: unknown[][] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t.startsWith("[")) out.push(JSON.parse(t) as unknown[]);
  }
  return out;
}
