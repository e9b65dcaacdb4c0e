import { TOOL_PATH } from "./paths.js";
import { type CommandResult, runCommand } from "./run-command.js";

/**
 * Process runner for the cluster sandbox (demo and e2e tests), on top of the harness's runCommand.
 * Asynchronous on purpose: the demo's Ctrl-C handler only runs when the event loop gets control,
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
