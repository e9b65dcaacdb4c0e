/**
 * W3C trace context (`TRACEPARENT`, `TRACESTATE`), which libcni passes to plugins in the
 * environment. Validated before it is written to the debug trace or handed to delegates we exec:
 * a value that does not follow the format is dropped, so nothing else from the environment ever
 * reaches the log.
 */
export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
  /** Which variables were present but malformed (and therefore dropped). */
  dropped: string[];
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;
const ZEROS = /^0+$/;

/** A traceparent as the W3C Trace Context spec (level 1) defines it; future versions may add fields. */
export function validTraceparent(value: string): boolean {
  if (value.length > 512) return false;
  const m = TRACEPARENT.exec(value);
  if (!m) return false;
  const [, version, traceId, parentId, , rest] = m;
  if (version === "ff") return false;
  if (version === "00" && rest !== undefined) return false;
  return !ZEROS.test(traceId!) && !ZEROS.test(parentId!);
}

const KEY = /^(?:[a-z0-9][_0-9a-z*/-]{0,255}|[a-z0-9][_0-9a-z*/-]{0,240}@[a-z][_0-9a-z*/-]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** A tracestate: at most 32 comma-separated key=value members, keys unique, at most 512 characters. */
export function validTracestate(value: string): boolean {
  if (value.length > 512) return false;
  const members = value
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  if (members.length === 0 || members.length > 32) return false;
  const keys = new Set<string>();
  for (const member of members) {
    const eq = member.indexOf("=");
    if (eq < 0) return false;
    const key = member.slice(0, eq);
    if (!KEY.test(key) || !VALUE.test(member.slice(eq + 1)) || keys.has(key)) return false;
    keys.add(key);
  }
  return true;
}

/** The trace context of `env`; TRACESTATE counts only with a valid TRACEPARENT, as the spec says. */
export function traceContext(env: NodeJS.ProcessEnv): TraceContext {
  const out: TraceContext = { dropped: [] };
  const parent = env.TRACEPARENT;
  const state = env.TRACESTATE;
  if (parent !== undefined) {
    if (validTraceparent(parent)) out.traceparent = parent;
    else out.dropped.push("TRACEPARENT");
  }
  if (state !== undefined) {
    if (out.traceparent !== undefined && validTracestate(state)) out.tracestate = state;
    else out.dropped.push("TRACESTATE");
  }
  return out;
}

/** `env` for a delegate we exec: the trace context kept only when valid. */
export function withValidTraceContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const ctx = traceContext(env);
  if (ctx.dropped.length === 0) return env;
  const out = { ...env };
  for (const name of ctx.dropped) delete out[name];
  return out;
}
