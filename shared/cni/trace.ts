import { appendFileSync } from "node:fs";

/**
 * The debugging switch: when a log file is named (config "debugLog" or env CNI_TS_DEBUG_LOG,
 * "stderr" for standard error), every invocation appends one JSON line with its verb, ids,
 * per-phase timings and outcome. Nothing else from the environment is written.
 */
export class Trace {
  private readonly phases: Array<[string, number]> = [];
  private readonly notes: string[] = [];
  private last = performance.now();
  readonly startedAt = performance.now();
  target: string | undefined;

  constructor(target?: string) {
    this.target = target || undefined;
    // Time from process start (performance.timeOrigin) to the first line of our code.
    this.phases.push(["startup", this.startedAt]);
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

  /** A human note for the log (what was healed, what was skipped); also goes to stderr. */
  note(message: string): void {
    this.notes.push(message);
    process.stderr.write(`${message}\n`);
  }

  write(record: Record<string, unknown>): void {
    if (!this.target) return;
    const phases: Record<string, number> = {};
    for (const [name, ms] of this.phases) {
      if (name === "(between)" && ms < 0.05) continue;
      phases[name] = Math.round(((phases[name] ?? 0) + ms) * 100) / 100;
    }
    phases.total = Math.round(performance.now() * 100) / 100;
    const line = `${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, ...record, notes: this.notes, ms: phases })}\n`;
    try {
      if (this.target === "stderr") process.stderr.write(line);
      else appendFileSync(this.target, line, { mode: 0o600 });
    } catch {
      // A broken log target must never fail the pod.
    }
  }
}
