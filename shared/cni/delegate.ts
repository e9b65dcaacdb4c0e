import { childProcess } from "../sys/child-process.js";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Verb } from "./env.js";
import { CniError, ErrorCode } from "./errors.js";
import { faultPoint } from "../sys/fault.js";
import { goJson } from "./json.js";
import { isPlainObject } from "../sys/plain-object.js";
import type { Invocation, Plugin } from "./plugin.js";
import { buildInvocation, invokeVerb } from "./invocation.js";
import { parseResult, type Result } from "./result.js";
import { withValidTraceContext } from "./trace-context.js";

type Loader = () => Promise<Plugin>;
const inProcess = new Map<string, Loader>();

/** Plugins of this executable that may run in-process when their type is found on CNI_PATH as us. */
export function registerInProcess(type: string, loader: Loader): void {
  inProcess.set(type, loader);
}

/** Finds a plugin executable on CNI_PATH, as libcni's FindInPath does. */
export function findInPath(type: string, path: readonly string[]): string {
  if (type === "" || type.includes("/")) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid plugin type "${type}": must be a file name`);
  }
  for (const dir of path) {
    const candidate = join(dir, type);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(
    ErrorCode.Internal,
    `failed to find plugin "${type}" in path [${path.join(" ")}]`,
    `install the "${type}" plugin into one of the CNI_PATH directories`,
  );
}

let ownStat: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint } | undefined | null = null;
function ownExecutable() {
  if (ownStat === null) {
    try {
      ownStat = statSync(process.execPath, { bigint: true });
    } catch {
      ownStat = undefined;
    }
  }
  return ownStat;
}

/**
 * True when `file` is this very executable (a hard link or symlink to it), or a copy of the same
 * build that `cni-ts install` made (flannel's own file: same size, same whole-second mtime; a
 * `cp -f` over the copy changes its size and mtime): it can run in-process.
 */
function isOwnExecutable(file: string): boolean {
  const own = ownExecutable();
  if (!own) return false;
  try {
    const s = statSync(file, { bigint: true });
    if (s.dev === own.dev && s.ino === own.ino) return true;
    return s.size === own.size && s.mtimeNs === own.mtimeNs && s.mtimeNs % 1_000_000_000n === 0n;
  } catch {
    return false;
  }
}

/**
 * Runs `verb` of plugin `type` with `config` as its stdin and the caller's environment,
 * in-process when the executable on CNI_PATH is ours, else by exec. Errors keep the delegate's code.
 */
export async function delegate(
  parent: Invocation,
  type: string,
  verb: Verb,
  config: Record<string, unknown> | Buffer,
): Promise<Result | undefined> {
  const stdin = Buffer.isBuffer(config) ? config : Buffer.from(goJson(config));
  faultPoint(`delegate:${type}.${verb}:before`);
  try {
    return await delegateNow(parent, type, verb, stdin);
  } finally {
    faultPoint(`delegate:${type}.${verb}:after`);
  }
}

async function delegateNow(parent: Invocation, type: string, verb: Verb, stdin: Buffer): Promise<Result | undefined> {
  const file = findInPath(type, parent.env.path);
  const loader = inProcess.get(type);
  if (loader && isOwnExecutable(file)) {
    parent.trace.mark(`work before ${type} delegate`);
    const plugin = await loader();
    const child = buildInvocation(verb, { ...parent.env, command: verb }, stdin, parent.processEnv, parent.trace);
    parent.trace.mark(`load + parse ${type}`);
    return parent.trace.span(`${type}.${verb}`, () => invokeVerb(plugin, child));
  }
  return parent.trace.span(`exec ${type}.${verb}`, () => execPlugin(file, verb, stdin, parent));
}

function execPlugin(file: string, verb: Verb, stdin: Buffer, parent: Invocation): Result | undefined {
  // The caller's environment, with W3C trace context only when well-formed.
  const env = { ...withValidTraceContext(parent.processEnv), CNI_COMMAND: verb };
  const started = parent.trace.enabled ? performance.now() : 0;
  const run = childProcess().spawnSync(file, [], {
    env,
    input: stdin,
    stdio: ["pipe", "pipe", "inherit"],
    maxBuffer: 16 << 20,
  });
  if (parent.trace.enabled)
    parent.trace.process(`${file} (${verb} delegate)`, performance.now() - started, run.status ?? -1);
  if (run.error) throw new CniError(ErrorCode.Internal, `failed to run plugin "${file}": ${run.error.message}`);
  const out = run.stdout.toString("utf8");
  if (run.status !== 0) throw pluginFailure(out, run.status, run.signal);
  if (verb !== "ADD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `failed to unmarshal raw result from "${file}": ${(e as Error).message}`,
    );
  }
  return parseResult(parsed, parent.cniVersion, `result of ${file}`);
}

function pluginFailure(stdout: string, status: number | null, signal: NodeJS.Signals | null): CniError {
  const exit = signal ? `signal ${signal}` : `exit status ${status}`;
  if (stdout.trim() === "") return new CniError(ErrorCode.Internal, `netplugin failed with no error message: ${exit}`);
  try {
    const e: unknown = JSON.parse(stdout);
    if (isPlainObject(e) && typeof e.msg === "string") {
      const code = typeof e.code === "number" ? e.code : ErrorCode.Internal;
      return new CniError(code, e.msg, typeof e.details === "string" ? e.details : "");
    }
  } catch {
    // fall through
  }
  return new CniError(
    ErrorCode.Internal,
    `netplugin failed but error parsing its diagnostic message "${stdout.trim()}"`,
  );
}
