import { basename } from "node:path";
import { buildDescription } from "./build-info.js";
import { requestedVersion, versionJson } from "./cni/version-answer.js";
import { writeAll } from "./sys/write-all.js";
import { PLUGIN_NAMES, type PluginName, isPluginName } from "./plugins.js";

/**
 * Each plugin's module, by the name it is invoked as (one multi-call binary, hard-linked).
 * Everything beyond VERSION is imported lazily: a runtime calls VERSION often and it should cost
 * no more than the process start.
 */
async function loadPlugin(name: PluginName) {
  switch (name) {
    case "bridge":
      return (await import("../plugins/bridge/index.js")).plugin;
    case "host-local":
      return (await import("../ipam/host-local/index.js")).plugin;
    case "flannel":
      return (await import("../plugins/flannel/index.js")).plugin;
    case "loopback":
      return (await import("../plugins/loopback/index.js")).plugin;
    case "portmap":
      return (await import("../plugins/portmap/index.js")).plugin;
    case "bandwidth":
      return (await import("../plugins/bandwidth/index.js")).plugin;
  }
}

/** The invoked name; a symlink or hard link under a plugin name selects that plugin. */
function invokedName(): string {
  for (const candidate of [process.argv0, process.argv[1], process.execPath]) {
    const name = candidate ? basename(candidate) : "";
    if (isPluginName(name)) return name;
  }
  return basename(process.argv0 ?? "");
}

/** `cni-ts COMMAND …`: the node commands, loaded only when asked for. */
async function runNodeCommand(name: string, args: string[]): Promise<number> {
  const { NODE_COMMANDS, usage } = await import("./commands/index.js");
  const [command, ...rest] = args;
  const load = command === undefined ? undefined : NODE_COMMANDS[command];
  if (load === undefined) {
    writeAll(2, `cni-ts: invoked as "${name}"; install this file under one of: ${PLUGIN_NAMES.join(", ")}\n${usage()}`);
    return command === undefined ? 1 : 2;
  }
  return (await load()).run(rest);
}

async function main(): Promise<void> {
  const name = invokedName();
  const wantsVersion = process.argv[2] === "--version";
  if (!isPluginName(name)) {
    if (wantsVersion) return writeAll(1, `cni-ts ${buildDescription()}\n`);
    process.exitCode = await runNodeCommand(name, process.argv.slice(2));
    return;
  }
  if (wantsVersion) return writeAll(1, `${(await loadPlugin(name)).about} ${buildDescription()}\n`);
  if (process.env.CNI_COMMAND === "VERSION") {
    writeAll(1, versionJson(requestedVersion()));
    return;
  }
  const [{ runPlugin }, { registerInProcess }] = await Promise.all([
    import("./cni/dispatch.js"),
    import("./cni/delegate.js"),
  ]);
  for (const other of PLUGIN_NAMES) registerInProcess(other, () => loadPlugin(other));
  process.exitCode = await runPlugin(await loadPlugin(name));
}

void main();
