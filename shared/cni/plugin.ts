import type { CniEnv, Verb } from "./env.js";
import type { NetConf } from "./config.js";
import type { Result } from "./result.js";
import type { Trace } from "./trace.js";
import type { CniVersion } from "./versions.js";

/** Everything a verb handler gets: validated environment and config, lazily parsed extras. */
export interface Invocation {
  readonly verb: Verb;
  readonly env: CniEnv;
  /** The process environment, passed on unchanged to delegates we exec. */
  readonly processEnv: NodeJS.ProcessEnv;
  /** The config bytes exactly as received (delegates of the same config get these). */
  readonly stdin: Buffer;
  /** The config as a JSON object with every field kept. */
  readonly raw: Record<string, unknown>;
  readonly conf: NetConf;
  readonly cniVersion: CniVersion;
  readonly trace: Trace;
  /** CNI_ARGS with IgnoreUnknown semantics; `knownKeys` are the keys this plugin understands. */
  cniArgs(knownKeys?: readonly string[]): Map<string, string>;
  /** prevResult converted to the internal type, or undefined when absent. */
  prevResult(): Result | undefined;
}

type Handler<T> = (inv: Invocation) => Promise<T> | T;

/** A plugin is a table of verb handlers; the core owns the protocol around them. */
export interface Plugin {
  readonly name: string;
  /** Printed on stderr when run without CNI_COMMAND, like the reference plugins. */
  readonly about: string;
  readonly add: Handler<Result>;
  readonly del: Handler<void>;
  readonly check?: Handler<void>;
  readonly gc?: Handler<void>;
  readonly status?: Handler<void>;
}
