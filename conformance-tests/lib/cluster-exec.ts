import { spawn } from "node:child_process";

/**
 * Asynchronous process runner for the cluster sandbox (demo and e2e tests). Asynchronous on
 * purpose: the demo's Ctrl-C handler only runs when the event loop gets control, so every
 * command yields to it, and once `abortAll()` was called no new command starts (teardown
 * commands pass `duringTeardown`).
 */
export interface Output {
  status: number;
  stdout: string;
  stderr: string;
}

export interface ShOptions {
  input?: string;
  /** Throw when the exit status is not 0 (default true). */
  check?: boolean;
  /** Extra environment (PATH and LC_ALL are always set). */
  env?: Record<string, string>;
  /** Still run after an abort: cleanup commands. */
  duringTeardown?: boolean;
  /** Kill the process after this many ms (default 120 s). */
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly output: Output,
  ) {
    const detail = output.stderr.trim() || output.stdout.trim() || `exit status ${output.status}`;
    super(`${argv.join(" ")}: ${detail}`);
    this.name = "CommandError";
  }
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

const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function sh(argv: readonly string[], opts: ShOptions = {}): Promise<Output> {
  if (aborted && !opts.duringTeardown) return Promise.reject(new Interrupted());
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PATH: process.env.PATH || BASE_PATH, LC_ALL: "C", ...opts.env },
      timeout: opts.timeoutMs ?? 120_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new Error(`cannot run ${argv[0]}: ${e.message}`)));
    child.on("close", (code, signal) => {
      const output = {
        status: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (aborted && !opts.duringTeardown) reject(new Interrupted());
      else if (output.status !== 0 && opts.check !== false) reject(new CommandError(argv, output));
      else resolve(output);
    });
    child.stdin.on("error", () => {}); // the child may exit before reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** argv run inside the named network namespace with its own /sys (`ip netns exec`). */
export function inNetns(netns: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", netns, ...argv];
}

/** `ip -batch -` in a namespace: one process for many changes. */
export function ipBatch(netns: string, lines: readonly string[], opts: ShOptions = {}): Promise<Output> {
  return sh(["ip", "-n", netns, "-batch", "-"], { ...opts, input: `${lines.join("\n")}\n` });
}

/** `ip -j ...` in a namespace, parsed. */
export async function ipJson<T = Record<string, unknown>>(netns: string, args: readonly string[]): Promise<T[]> {
  const r = await sh(["ip", "-j", "-n", netns, ...args], { duringTeardown: true });
  const text = r.stdout.trim();
  return text ? (JSON.parse(text) as T[]) : [];
}
