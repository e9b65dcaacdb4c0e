/**
 * How the system layer reports the work it does to the invocation trace without importing the
 * protocol core: the core's Trace registers itself here (shared/cni/trace.ts), and process
 * starters and netlink requests ask `systemTrace()` once per process or request.
 */
export interface SystemTrace {
  /** A process started and waited for: the command as an operator would run it, ms, exit status. */
  process(cmd: string, ms: number, status: number): void;
  /** An rtnetlink request made in this process, as the `ip` line that does the same, ms, errno or 0. */
  kernel(cmd: string, ms: number, status: number): void;
}

let source: () => SystemTrace | undefined = () => undefined;

/** Called once by the trace module: where the running invocation's trace (if enabled) is found. */
export function setTraceSource(fn: () => SystemTrace | undefined): void {
  source = fn;
}

/** The running invocation's trace when the debugging switch is on, else undefined. */
export function systemTrace(): SystemTrace | undefined {
  return source();
}
