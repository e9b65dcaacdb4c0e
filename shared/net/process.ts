/**
 * The one place that starts kernel-facing processes (ip, tc, nsenter, sysctl, iptables, nft).
 * Argument arrays only, never a shell. Every call is one process; callers batch. Failures are
 * SystemErrors (the protocol core gives them their CNI code).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { childProcess } from "../sys/child-process.js";
import { faultPoint } from "../sys/fault.js";
import { assertHome, withNetns } from "../sys/netns-enter.js";
import { SystemError } from "../sys/system-error.js";
import { systemTrace } from "../sys/trace-hook.js";

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
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The environment every child gets: PATH and the C locale (stable messages to match), nothing else. */
export function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH || DEFAULT_PATH, LC_ALL: "C" };
}

const found = new Map<string, boolean>();
/** True when `bin` is on PATH (checked on the file system, no process). */
export function haveBinary(bin: string): boolean {
  let ok = found.get(bin);
  if (ok === undefined) {
    ok = (process.env.PATH || DEFAULT_PATH).split(":").some((dir) => {
      try {
        return dir !== "" && statSync(join(dir, bin)).isFile();
      } catch {
        return false;
      }
    });
    found.set(bin, ok);
  }
  return ok;
}

/** How many processes this invocation started (reported by the trace). */
export function processCount(): number {
  return runCount;
}

/** Counts a process started elsewhere (the event wait's long-running monitor). */
export function countProcess(): void {
  runCount++;
}

export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
  assertHome();
  runCount++;
  faultPoint(`exec#${runCount}:before`);
  const started = performance.now();
  const spawnIt = (cmd: readonly string[]) =>
    childProcess().spawnSync(cmd[0]!, cmd.slice(1), {
      input: opts.input ?? "",
      stdio: ["pipe", "pipe", "pipe"],
      env: childEnv(),
      maxBuffer: 64 << 20,
    });
  // Under Bun the child is started from this thread inside the namespace (it inherits it): no nsenter.
  let full = [...argv];
  let r = opts.netns ? withNetns(opts.netns, () => spawnIt(argv))?.value : undefined;
  if (r === undefined) {
    if (opts.netns) full = ["nsenter", `--net=${opts.netns}`, "--", ...argv];
    r = spawnIt(full);
  }
  if (r.error) {
    throw new SystemError(`failed to run ${full[0]}: ${r.error.message}`, "is iproute2/util-linux installed?");
  }
  faultPoint(`exec#${runCount}:after`);
  const res = { status: r.status ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  systemTrace()?.process(describe(argv, opts), performance.now() - started, res.status);
  if (res.status !== 0 && opts.check !== false) {
    const what = opts.what ?? argv.join(" ");
    throw new SystemError(`${what}: ${firstLine(res.stderr) || `exit status ${res.status}`}`);
  }
  return res;
}

/** How a process shows up in the debug log: the command, batch size and namespace, never the input. */
function describe(argv: readonly string[], opts: RunOptions): string {
  const lines = opts.input ? opts.input.split("\n").filter((l) => l.trim() !== "").length : 0;
  const cmd =
    argv.includes("-batch") || argv.includes("-f") || argv[0]?.endsWith("-restore")
      ? `${argv.join(" ")} (${lines} lines)`
      : argv.join(" ");
  return opts.netns ? `${cmd} in ${opts.netns}` : cmd;
}

/** The first line of a tool's error output (what error messages quote). */
export function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}
