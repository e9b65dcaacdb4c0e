import { statSync } from "node:fs";
import { parseCniArgs } from "./args.js";
import { parseNetConfBytes } from "./config.js";
import type { CniEnv, Verb } from "./env.js";
import { CniError, ErrorCode } from "./errors.js";
import type { Invocation, Plugin } from "./plugin.js";
import { parseResult, type Result } from "./result.js";
import { Trace } from "./trace.js";
import { atLeast, requireSupported } from "./versions.js";

/** Builds the invocation for one verb from validated env and the config bytes. */
export function buildInvocation(
  verb: Verb,
  env: CniEnv,
  stdin: Buffer,
  processEnv: NodeJS.ProcessEnv,
  trace?: Trace,
): Invocation {
  const { raw, conf } = parseNetConfBytes(stdin);
  const cniVersion = requireSupported(conf.cniVersion ?? "");
  const t = trace ?? new Trace();
  t.target ??= conf.debugLog || processEnv.CNI_TS_DEBUG_LOG || undefined;
  let args: Map<string, string> | undefined;
  let prev: Result | undefined | null = null;
  return {
    verb,
    env,
    processEnv,
    stdin,
    raw,
    conf,
    cniVersion,
    trace: t,
    cniArgs(knownKeys = []) {
      args ??= parseCniArgs(env.args, knownKeys);
      return args;
    },
    prevResult() {
      if (prev === null) {
        prev =
          conf.prevResult === undefined || conf.prevResult === null
            ? undefined
            : parseResult(conf.prevResult, cniVersion, "prevResult");
      }
      return prev;
    },
  };
}

const MIN_VERSION: Partial<Record<Verb, string>> = { CHECK: "0.4.0", GC: "1.1.0", STATUS: "1.1.0" };

/** Version gating, the netns guard, then the handler. Shared by the executable and in-process delegation. */
export async function invokeVerb(plugin: Plugin, inv: Invocation): Promise<Result | undefined> {
  const min = MIN_VERSION[inv.verb];
  if (min && !atLeast(inv.cniVersion, min)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version does not allow ${inv.verb}`,
      `${inv.verb} needs cniVersion ${min} or later; the config says "${inv.cniVersion}"`,
    );
  }
  if (inv.verb === "ADD" || inv.verb === "DEL" || inv.verb === "CHECK") guardOwnNetns(inv.env);
  switch (inv.verb) {
    case "ADD":
      return plugin.add(inv);
    case "DEL":
      await plugin.del(inv);
      return undefined;
    case "CHECK":
      await plugin.check?.(inv);
      return undefined;
    case "GC":
      await plugin.gc?.(inv);
      return undefined;
    case "STATUS":
      await plugin.status?.(inv);
      return undefined;
    default:
      throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${inv.verb}`);
  }
}

/** Refuses to act on our own network namespace (skel's code 8), before anything is changed. */
function guardOwnNetns(env: CniEnv): void {
  if (env.netns === "" || env.netnsOverride) return;
  try {
    const target = statSync(env.netns);
    const own = statSync("/proc/self/ns/net");
    if (target.dev === own.dev && target.ino === own.ino) {
      throw new CniError(
        ErrorCode.InvalidNetns,
        "plugin's netns and netns from CNI_NETNS should not be the same",
        `CNI_NETNS=${env.netns} is the namespace the plugin runs in; pass the pod's namespace`,
      );
    }
  } catch (e) {
    if (e instanceof CniError) throw e;
    // A netns that cannot be opened is the plugin's to report (ADD) or to tolerate (DEL).
  }
}
