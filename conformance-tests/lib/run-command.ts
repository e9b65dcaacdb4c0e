/**
 * The test library's one process runner: `runCommand` starts one process from an argument array
 * (never a shell) and collects its output, with a timeout and a readable error; `sh` (below) adds
 * the tool PATH and the demo's abort; `execIn` (netns.ts) runs it inside a sandbox namespace.
 */
import { spawn } from "node:child_process";
import { TOOL_PATH } from "./paths.js";

export interface CommandResult {
  argv: readonly string[];
  status: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** The complete environment (nothing is inherited unless the caller passes it). */
  env?: Record<string, string>;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Throw when the exit status is not 0 (default true). */
  check?: boolean;
}

export class CommandError extends Error {
  constructor(readonly result: CommandResult) {
    super(
      `command failed (exit ${result.status}): ${result.argv.join(" ")}\n` +
        `stderr: ${result.stderr.trim() || "(empty)"}\nstdout: ${result.stdout.trim() || "(empty)"}`,
    );
    this.name = "CommandError";
  }
}

export function runCommand(argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error("runCommand: empty argv"));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? {}, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(
        new Error(`cannot start ${file}: ${e.message} (is it installed? scripts/test installs the prerequisites)`),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result: CommandResult = {
        argv,
        status: code ?? 128,
        stdout: Buffer.concat(out).toString(),
        stderr:
          Buffer.concat(err).toString() +
          (timedOut ? `\n(killed after ${opts.timeoutMs ?? 60_000} ms)` : signal ? `\n(signal ${signal})` : ""),
      };
      if (result.status !== 0 && opts.check !== false) reject(new CommandError(result));
      else resolve(result);
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading stdin
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * `sh`: runCommand with the tool PATH and the C locale, for the cluster sandbox, the demo and the
 * runtime tests. Asynchronous on purpose: the demo's Ctrl-C handler only runs when the event loop gets control,
 * so every command yields to it, and once `abortAll()` was called no new command starts (teardown
 * commands pass `duringTeardown`).
 */
export interface ShOptions {
  input?: string;
  /** Throw when the exit status is not 0 (default true). */
  check?: boolean;
  /** Extra environment (PATH and LC_ALL are always set; nothing else is inherited). */
  env?: Record<string, string>;
  /** Still run after an abort: cleanup commands. */
  duringTeardown?: boolean;
  /** Kill the process after this many ms (default 120 s). */
  timeoutMs?: number;
}

export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

let aborted = false;

/** Makes every later non-teardown command throw Interrupted. */
export function abortAll(): void {
  aborted = true;
}

export function isAborted(): boolean {
  return aborted;
}

export async function sh(argv: readonly string[], opts: ShOptions = {}): Promise<CommandResult> {
  if (aborted && !opts.duringTeardown) throw new Interrupted();
  const r = await runCommand(argv, {
    env: { PATH: TOOL_PATH, LC_ALL: "C", ...opts.env },
    input: opts.input ?? "",
    timeoutMs: opts.timeoutMs ?? 120_000,
    check: opts.check ?? true,
  });
  if (aborted && !opts.duringTeardown) throw new Interrupted();
  return r;
}

/** argv run inside the named network namespace with its own /sys (`ip netns exec`). */
export function inNetns(netns: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", netns, ...argv];
}

/** `ip -batch -` in a namespace: one process for many changes. */
export function ipBatch(netns: string, lines: readonly string[], opts: ShOptions = {}): Promise<CommandResult> {
  return sh(["ip", "-n", netns, "-batch", "-"], { ...opts, input: `${lines.join("\n")}\n` });
}

/** `ip -j ...` in a namespace, parsed. */
export async function ipJson<T = Record<string, unknown>>(netns: string, args: readonly string[]): Promise<T[]> {
  const r = await sh(["ip", "-j", "-n", netns, ...args], { duringTeardown: true });
  const text = r.stdout.trim();
  return text ? (JSON.parse(text) as T[]) : [];
}
