import { spawn } from "node:child_process";

/**
 * Starts one process from an argument array (never a shell) and collects its output.
 * The harness's only way to start processes, so every call has a timeout and a readable error.
 */
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
      reject(new Error(`cannot start ${file}: ${e.message} (is it installed? scripts/test installs the prerequisites)`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result: CommandResult = {
        argv,
        status: code ?? 128,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (timedOut ? `\n(killed after ${opts.timeoutMs ?? 60_000} ms)` : signal ? `\n(signal ${signal})` : ""),
      };
      if (result.status !== 0 && opts.check !== false) reject(new CommandError(result));
      else resolve(result);
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading stdin
    child.stdin.end(opts.input ?? "");
  });
}
