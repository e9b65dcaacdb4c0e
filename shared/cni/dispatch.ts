import { readFileSync } from "node:fs";
import { readEnv, isVerb } from "./env.js";
import { CniError, ErrorCode, isExpectedError, toCniError } from "./errors.js";
import { goJson } from "./json.js";
import type { Plugin } from "./plugin.js";
import { buildInvocation, invokeVerb } from "./invocation.js";
import { formatResult } from "./result.js";
import { Trace } from "./trace.js";
import { traceContext } from "./trace-context.js";
import { writeAll } from "../sys/write-all.js";
import { LATEST_VERSION, SUPPORTED_VERSIONS } from "./versions.js";
import { requestedVersion, versionJson } from "./version-answer.js";
import { BUILD, buildDescription } from "../build-info.js";

export interface Io {
  readStdin(): Buffer;
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: Io = {
  readStdin: () => readFileSync(0),
  stdout: (text) => writeAll(1, text),
  stderr: (text) => writeAll(2, text),
};

export function errorJson(err: CniError, cniVersion: string): string {
  return goJson({ cniVersion, code: err.code, msg: err.message, details: err.details || undefined }, 4);
}

/**
 * Runs one plugin invocation as an executable: env + stdin in, result or error JSON out. Returns
 * the exit status. `traceFields` go into the trace line (the resident service marks its calls).
 */
export async function runPlugin(
  plugin: Plugin,
  env: NodeJS.ProcessEnv = process.env,
  io: Io = processIo,
  traceFields: Record<string, unknown> = {},
): Promise<number> {
  const trace = new Trace(env.CNI_TS_DEBUG_LOG, traceFields.resident === true ? performance.now() : undefined);
  let cniVersion: string = LATEST_VERSION;
  const record: Record<string, unknown> = {
    plugin: plugin.name,
    release: BUILD.release,
    verb: env.CNI_COMMAND ?? "",
    ...traceFields,
  };
  try {
    if (!env.CNI_COMMAND) {
      io.stderr(
        `${plugin.about} ${buildDescription()}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`,
      );
      return 0;
    }
    const cniEnv = readEnv(env);
    Object.assign(record, { containerId: cniEnv.containerId, ifname: cniEnv.ifname, netns: cniEnv.netns });
    if (cniEnv.command === "VERSION") {
      io.stdout(versionJson(requestedVersion(io.readStdin)));
      return 0;
    }
    let stdin: Buffer;
    try {
      stdin = io.readStdin();
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(e as Error).message}`);
    }
    trace.mark("read");
    if (!isVerb(cniEnv.command)) {
      // skel validates the config before it rejects the verb, so 6/7 win over 4.
      buildInvocation("ADD", cniEnv, stdin, env, trace);
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `unknown CNI_COMMAND: ${cniEnv.command}`,
        "CNI_COMMAND must be one of ADD, DEL, CHECK, GC, STATUS, VERSION",
      );
    }
    const inv = buildInvocation(cniEnv.command, cniEnv, stdin, env, trace);
    cniVersion = inv.cniVersion;
    trace.mark("parse");
    const result = await invokeVerb(plugin, inv);
    if (result) {
      const text = formatResult(result, inv.cniVersion);
      io.stdout(text);
      if (trace.enabled) record.result = JSON.parse(text);
    }
    trace.mark("output");
    return 0;
  } catch (e) {
    const err = toCniError(e);
    if (!isExpectedError(e)) io.stderr(`${plugin.name}: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    io.stdout(errorJson(err, cniVersion));
    record.error = { code: err.code, msg: err.message, details: err.details || undefined };
    return 1;
  } finally {
    // Known only now: the config's debugLog may be what enabled the trace.
    if (trace.enabled && (env.TRACEPARENT !== undefined || env.TRACESTATE !== undefined))
      recordTraceContext(trace, record, env);
    trace.write(record);
  }
}

/** W3C trace context into the trace line, validated; a malformed value is named, never written. */
function recordTraceContext(trace: Trace, record: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const ctx = traceContext(env);
  if (ctx.traceparent !== undefined) record.traceparent = ctx.traceparent;
  if (ctx.tracestate !== undefined) record.tracestate = ctx.tracestate;
  if (ctx.dropped.length > 0)
    trace.note(`malformed ${ctx.dropped.join(" and ")} ignored (not logged, not passed to delegates)`);
}
