import type { CommandResult } from "./run-command.js";

/** What a test passes for one CNI operation, whichever client runs it. */
export interface CallOptions {
  /** CNI_IFNAME (default eth0). */
  ifname?: string;
  /** CNI_CONTAINERID (default: the pod's container id). */
  containerId?: string;
  /** CNI_ARGS, "K=V;K=V". */
  args?: string;
  /** Capability args (libcni turns them into runtimeConfig for plugins that declare the capability). */
  capArgs?: Record<string, unknown>;
  /** Extra environment for the client or plugin process. */
  env?: Record<string, string>;
}

export type CniVerb = "ADD" | "CHECK" | "DEL" | "GC" | "STATUS" | "VERSION";

/** The outcome of a CNI call: the raw process result plus its stdout parsed as JSON when it is JSON. */
export interface CniOutcome extends CommandResult {
  json: unknown;
  ok: boolean;
}

export function toOutcome(r: CommandResult): CniOutcome {
  const text = r.stdout.trim();
  let json: unknown = undefined;
  if (text.startsWith("{") || text.startsWith("[")) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { ...r, json, ok: r.status === 0 };
}

/** Throws a readable error unless the call succeeded; returns the parsed JSON. */
export function expectOk(o: CniOutcome, what = o.argv.join(" ")): unknown {
  if (!o.ok) {
    throw new Error(`${what} failed (exit ${o.status})\nstdout: ${o.stdout.trim()}\nstderr: ${o.stderr.trim()}`);
  }
  return o.json;
}

/** What both kinds of call environment are built from. */
export interface CallEnvBase {
  cniPath: readonly string[];
  /** Default CNI_CONTAINERID when opts.containerId is not given. */
  containerId: string;
  opts: CallOptions;
  toolPath: string;
}

/**
 * Environment for the harness's libcni client (conformance-tests/cnitool). The cache dir goes as
 * the -cache-dir flag instead: libcni hands its whole environment to plugins, and a CNI_* variable
 * a real runtime would not set must not reach them.
 */
export function cnitoolEnv(base: CallEnvBase & { confDir: string }): Record<string, string> {
  const { opts } = base;
  const env: Record<string, string> = {
    PATH: base.toolPath,
    NETCONFPATH: base.confDir,
    CNI_PATH: base.cniPath.join(":"),
    CNI_CONTAINERID: opts.containerId ?? base.containerId,
    CNI_IFNAME: opts.ifname ?? "eth0",
  };
  if (opts.capArgs !== undefined) env.CAP_ARGS = JSON.stringify(opts.capArgs);
  return withCallEnv(env, opts);
}

/** The spec's environment for executing a plugin directly (§1.2), as a runtime would set it. */
export function pluginEnv(base: CallEnvBase & { verb: CniVerb; netns: string | undefined }): Record<string, string> {
  const { opts } = base;
  const env: Record<string, string> = {
    PATH: base.toolPath,
    CNI_COMMAND: base.verb,
    CNI_PATH: base.cniPath.join(":"),
  };
  if (base.verb !== "VERSION" && base.verb !== "GC" && base.verb !== "STATUS") {
    env.CNI_CONTAINERID = opts.containerId ?? base.containerId;
    env.CNI_IFNAME = opts.ifname ?? "eth0";
    if (base.netns !== undefined) env.CNI_NETNS = base.netns;
  }
  return withCallEnv(env, opts);
}

/** CNI_ARGS and the caller's extra variables, which win over everything else. */
function withCallEnv(env: Record<string, string>, opts: CallOptions): Record<string, string> {
  const out = { ...env };
  if (opts.args !== undefined) out.CNI_ARGS = opts.args;
  return { ...out, ...opts.env };
}
