import { buildDescription } from "./build-info.js";
import { loadPlugin } from "./plugin-loader.js";
import { PLUGIN_NAMES, type PluginName, isPluginName } from "./plugins.js";
import { callResident, relay } from "./resident/client.js";
import { residentSocket } from "./resident/protocol.js";

/* Static imports stay this small on purpose: a call the resident service answers loads nothing
   else (not even node:fs), and VERSION loads only what it prints. The service's client is one of
   them: a dynamic import would cost every plugin call another wait before it reads its stdin. */

const lastPart = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** The invoked name; a symlink or hard link under a plugin name selects that plugin. */
function invokedName(): string {
  for (const candidate of [process.argv0, process.argv[1], process.execPath]) {
    const name = candidate ? lastPart(candidate) : "";
    if (isPluginName(name)) return name;
  }
  return lastPart(process.argv0 ?? "");
}

async function write(fd: 1 | 2, text: string): Promise<void> {
  (await import("./sys/write-all.js")).writeAll(fd, text);
}

/** `cni-ts COMMAND …`: the node commands, loaded only when asked for. */
async function runNodeCommand(name: string, args: string[]): Promise<number> {
  const { NODE_COMMANDS, usage } = await import("./commands/index.js");
  const [command, ...rest] = args;
  const load = command === undefined ? undefined : NODE_COMMANDS[command];
  if (load === undefined) {
    await write(
      2,
      `cni-ts: invoked as "${name}"; install this file under one of: ${PLUGIN_NAMES.join(", ")}\n${usage()}`,
    );
    return command === undefined ? 1 : 2;
  }
  return (await load()).run(rest);
}

/**
 * A plugin call: through the resident service when one serves this node (`cni-ts serve`), else
 * here, with whatever stdin the attempt already read.
 */
async function runPluginCall(name: PluginName): Promise<number> {
  const env = process.env;
  const socket = residentSocket(env);
  let stdin: Buffer | undefined;
  // Test builds kill themselves at fault points: that must stay this process.
  if (socket !== undefined && "Bun" in globalThis && !env.CNI_TS_FAULT) {
    const outcome = await callResident(socket, name, env);
    if (outcome.served) return relay(outcome);
    stdin = outcome.stdin;
  }
  const [{ runPlugin, processIo }, { registerInProcess }] = await Promise.all([
    import("./cni/dispatch.js"),
    import("./cni/delegate.js"),
  ]);
  for (const other of PLUGIN_NAMES) registerInProcess(other, () => loadPlugin(other));
  const io = stdin === undefined ? processIo : { ...processIo, readStdin: () => stdin };
  return runPlugin(await loadPlugin(name), env, io);
}

async function main(): Promise<void> {
  const name = invokedName();
  const wantsVersion = process.argv[2] === "--version";
  if (!isPluginName(name)) {
    if (wantsVersion) return write(1, `cni-ts ${buildDescription()}\n`);
    process.exitCode = await runNodeCommand(name, process.argv.slice(2));
    return;
  }
  if (wantsVersion) return write(1, `${(await loadPlugin(name)).about} ${buildDescription()}\n`);
  if (process.env.CNI_COMMAND === "VERSION") {
    const { requestedVersion, versionJson } = await import("./cni/version-answer.js");
    return write(1, versionJson(requestedVersion()));
  }
  process.exitCode = await runPluginCall(name);
}

void main();
