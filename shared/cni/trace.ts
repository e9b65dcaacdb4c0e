import { appendFileSync } from "node:fs";
import { setTraceSource } from "../sys/trace-hook.js";
import { writeAll } from "../sys/write-all.js";

/** The invocation trace of this process (in-process delegates share their parent's). */
let current: Trace | undefined;

/**
 * The running invocation's trace when the debugging switch is on, else undefined. Process
 * starters call it once per process, so a disabled trace costs one property read.
 */
export function activeTrace(): Trace | undefined {
  return current?.target !== undefined ? current : undefined;
}
setTraceSource(activeTrace);

/** One process this invocation started and waited for. */
interface ProcessRecord {
  cmd: string;
  ms: number;
  status: number;
}

/**
 * The debugging switch: when a log file is named (config "debugLog" or env CNI_TS_DEBUG_LOG,
 * "stderr" for standard error), every invocation appends one JSON line with its verb, ids,
 * per-phase timings, the processes it started (command, ms, exit status), the netlink requests it made
 * (each as the equivalent `ip` command line), its peak RSS and its
 * outcome. Nothing else from the environment is written.
 */
export class Trace {
  private readonly phases: Array<[string, number]> = [];
  private readonly notes: string[] = [];
  private readonly processes: ProcessRecord[] = [];
  private readonly kernelSteps: ProcessRecord[] = [];
  private last = performance.now();
  readonly startedAt = performance.now();
  target: string | undefined;

  /** `inProcessSince`: the call began in this long-lived process then (the resident service), not at its start. */
  constructor(
    target?: string,
    private readonly inProcessSince?: number,
  ) {
    this.target = target || undefined;
    // Time from the runtime's time origin to the first line of our code. Under Bun the origin is
    // set after exec and mapping, so the true start-up cost is the caller's wall time minus "total".
    if (inProcessSince === undefined) this.phases.push(["startup", this.startedAt]);
    current = this;
  }

  get enabled(): boolean {
    return this.target !== undefined;
  }

  /** Closes the current phase under `name` (time since the previous mark). */
  mark(name: string): void {
    const now = performance.now();
    this.phases.push([name, now - this.last]);
    this.last = now;
  }

  async span<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    this.mark("(between)");
    try {
      return await fn();
    } finally {
      this.mark(name);
    }
  }

  /**
   * Records a process this invocation started (`cmd` says what it was, e.g. "ip -batch (4 lines)
   * in netns"), how long it took from start to exit and its exit status. Only called when enabled.
   */
  process(cmd: string, ms: number, status: number): void {
    this.processes.push({ cmd, ms: Math.round(ms * 100) / 100, status });
  }

  /**
   * Records one rtnetlink request made in this process, as the `ip` command line that does the
   * same (replayable by hand), with its time and 0 or the errno it failed with.
   */
  kernel(cmd: string, ms: number, status: number): void {
    this.kernelSteps.push({ cmd, ms: Math.round(ms * 1000) / 1000, status });
  }

  /** A human note for the log (what was healed, what was skipped); also goes to stderr. */
  note(message: string): void {
    this.notes.push(message);
    try {
      writeAll(2, `${message}\n`);
    } catch {
      // stderr closed or non-blocking and full: the note still reaches the debug log.
    }
  }

  write(record: Record<string, unknown>): void {
    if (!this.target) return;
    const phases: Record<string, number> = {};
    for (const [name, ms] of this.phases) {
      if (name === "(between)" && ms < 0.05) continue;
      phases[name] = Math.round(((phases[name] ?? 0) + ms) * 100) / 100;
    }
    phases.total = Math.round((performance.now() - (this.inProcessSince ?? 0)) * 100) / 100;
    const usage = process.resourceUsage();
    const line = `${JSON.stringify({
      time: new Date().toISOString(),
      pid: process.pid,
      ...record,
      notes: this.notes,
      ms: phases,
      processes: this.processes,
      netlink: this.kernelSteps,
      maxRssKb: usage.maxRSS,
    })}\n`;
    try {
      if (this.target === "stderr") writeAll(2, line);
      else appendFileSync(this.target, line, { mode: 0o600 });
    } catch {
      // A broken log target must never fail the pod.
    }
  }
}
