/**
 * How much work the resident service has queued, in expected milliseconds: each verb's recent
 * duration (a moving average, seeded with what a warm call costs). A call that would wait longer
 * than the bound is declined at once, so a burst of DELs (each waits for the kernel to delete a
 * veth, which parallel calls share) runs in the plugin processes instead of one after another.
 */
const SEED_MS: Record<string, number> = { ADD: 12, DEL: 30, CHECK: 6 };
const OTHER_MS = 5;
const WEIGHT = 0.2;

export class Backlog {
  private readonly expected = new Map<string, number>();
  private queuedMs = 0;

  constructor(private readonly boundMs: number) {}

  private estimate(verb: string): number {
    return this.expected.get(verb) ?? SEED_MS[verb] ?? OTHER_MS;
  }

  /** Whether a call of `verb` fits; when it does, it counts as queued until `finished`. */
  admit(verb: string): boolean {
    const ms = this.estimate(verb);
    if (this.queuedMs > 0 && this.queuedMs + ms > this.boundMs) return false;
    this.queuedMs += ms;
    return true;
  }

  /** An admitted call is over (run or declined later); `tookMs` when it ran. */
  finished(verb: string, tookMs?: number): void {
    this.queuedMs = Math.max(0, this.queuedMs - this.estimate(verb));
    if (tookMs !== undefined) this.expected.set(verb, this.estimate(verb) * (1 - WEIGHT) + tookMs * WEIGHT);
  }

  get queued(): number {
    return this.queuedMs;
  }
}
