import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CniError, ErrorCode } from "../cni/errors.js";
import { faultPoint } from "../cni/fault.js";
import { activeTrace } from "../cni/trace.js";
import { childProcess } from "../sys/child-process.js";
import { assertHome, withNetns } from "../sys/netns-enter.js";

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
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function childEnv(): NodeJS.ProcessEnv {
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
    throw new CniError(ErrorCode.Internal, `failed to run ${full[0]}: ${r.error.message}`, "is iproute2/util-linux installed?");
  }
  faultPoint(`exec#${runCount}:after`);
  const res = { status: r.status ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  activeTrace()?.process(describe(argv, opts), performance.now() - started, res.status);
  if (res.status !== 0 && opts.check !== false) {
    const what = opts.what ?? argv.join(" ");
    throw new CniError(ErrorCode.Internal, `${what}: ${firstLine(res.stderr) || `exit status ${res.status}`}`);
  }
  return res;
}

/** How a process shows up in the debug log: the command, batch size and namespace, never the input. */
function describe(argv: readonly string[], opts: RunOptions): string {
  const lines = opts.input ? opts.input.split("\n").filter((l) => l.trim() !== "").length : 0;
  const cmd = argv.includes("-batch") || argv.includes("-f") || argv[0]?.endsWith("-restore")
    ? `${argv.join(" ")} (${lines} lines)`
    : argv.join(" ");
  return opts.netns ? `${cmd} in ${opts.netns}` : cmd;
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}

/**
 * Runs `ip -batch -` with the given lines (one process; inside `netns` when given, see `run`).
 * With `json`, show commands print JSON arrays, one per line of output.
 */
export function ipBatch(
  lines: readonly string[],
  opts: RunOptions & { json?: boolean; force?: boolean; details?: boolean } = {},
): RunResult {
  for (const line of lines) assertBatchSafe(line);
  const args = ["ip"];
  if (opts.json) args.push("-j");
  if (opts.details) args.push("-d");
  if (opts.force) args.push("-force");
  args.push("-batch", "-");
  return run(args, { ...opts, input: `${lines.join("\n")}\n` });
}

/**
 * ip's batch parser treats quotes, '#' (comment) and backslashes specially: a name carrying one
 * would silently change the command, e.g. "link del dev a#b" deletes "a". Such text is refused.
 */
export function assertBatchSafe(text: string): void {
  if (/["'#\\\n]/.test(text)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `refusing to pass ${JSON.stringify(text)} to ip -batch: a name contains a quote, "#", backslash or newline`,
      "interface names and namespace paths must not contain quotes, #, backslashes or newlines",
    );
  }
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

/** Kernel answers that mean "already done" when adding / removing (ip's and Go's wordings alike). */
export const EXISTS = /File exists|already assigned|already exists/i;
export const GONE = /Cannot find device|does not exist|No such device|No such process|Cannot assign requested address|Address not found/i;

/** The 0-based index of the line `ip -batch` reports as failed ("Command failed -:N"). */
export function failedLine(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? Number(m[1]) - 1 : undefined;
}

/** The kernel's message for the failed line (the stderr lines before "Command failed"). */
export function batchReason(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Command failed"));
  const text = lines.join("; ");
  // "RTNETLINK answers: File exists" is errno text: print it as Go does ("file exists").
  const errno = /^RTNETLINK answers: (.*)$/.exec(text);
  if (errno) return errno[1]!.charAt(0).toLowerCase() + errno[1]!.slice(1);
  return text.replace(/^Error: /, "");
}

/**
 * Resolves once process `pid` holds a NETLINK_ROUTE socket bound to multicast groups (its row in
 * /proc/PID/net/netlink: protocol 0, port id = pid, groups != 0), or after `limitMs`.
 */
export async function subscribed(pid: number | undefined, limitMs: number): Promise<void> {
  if (pid === undefined) return;
  const until = performance.now() + limitMs;
  const mine = new RegExp(`^\\S+\\s+0\\s+${pid}\\s+([0-9a-f]+)\\s`, "m");
  while (performance.now() < until) {
    let table = "";
    try {
      table = readFileSync(`/proc/${pid}/net/netlink`, "utf8");
    } catch {
      return; // the monitor is gone; the caller's exit handler decides
    }
    const row = mine.exec(table);
    if (row && row[1] !== "00000000") return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Event wait without sleeps: starts `ip -o monitor <objects>` (inside `netns` when given), then
 * calls `ready()`; while it is false, re-checks it after each event line until `timeoutMs` passes.
 * Returns whether `ready()` became true.
 */
export async function waitForEvent(
  objects: readonly string[],
  ready: () => boolean,
  opts: { netns?: string; timeoutMs: number },
): Promise<boolean> {
  const argv = ["ip", "-o", "monitor", ...objects];
  const full = opts.netns ? ["nsenter", `--net=${opts.netns}`, "--", ...argv] : argv;
  runCount++;
  const started = performance.now();
  const child = childProcess().spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "ignore"], env: childEnv() });
  try {
    await new Promise<void>((resolve) => {
      child.once("spawn", () => resolve());
      child.once("error", () => resolve());
    });
    // "spawn" only means the program started: an event before it joins the multicast groups would
    // be missed and the wait would last until the timeout. Wait for the subscription itself.
    await subscribed(child.pid, Math.min(opts.timeoutMs, 1000));
    if (ready()) return true;
    return await new Promise<boolean>((resolve) => {
      // Once settled, later events (the monitor's own exit when we stop it) must not call ready() again.
      let settled = false;
      const settle = (ok: boolean) => {
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      const timer = setTimeout(() => settle(ready()), opts.timeoutMs);
      child.stdout.on("data", () => {
        if (!settled && ready()) settle(true);
      });
      child.once("exit", () => {
        if (!settled) settle(ready());
      });
    });
  } finally {
    child.kill("SIGTERM");
    activeTrace()?.process(`${argv.join(" ")} (event wait)${opts.netns ? ` in ${opts.netns}` : ""}`, performance.now() - started, 0);
  }
}
