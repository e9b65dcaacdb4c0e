import { basename } from "node:path";
import { runPlugin } from "./cni/dispatch.js";
import { registerInProcess } from "./cni/delegate.js";
import type { Plugin } from "./cni/plugin.js";

/** Every plugin this executable serves, by the name it is invoked as (one multi-call binary, hard-linked). */
const PLUGINS: Record<string, () => Promise<Plugin>> = {
  bridge: async () => (await import("../plugins/bridge/index.js")).plugin,
  "host-local": async () => (await import("../ipam/host-local/index.js")).plugin,
  flannel: async () => (await import("../plugins/flannel/index.js")).plugin,
  loopback: async () => (await import("../plugins/loopback/index.js")).plugin,
  portmap: async () => (await import("../plugins/portmap/index.js")).plugin,
};

/** The invoked name; a symlink or hard link under a plugin name selects that plugin. */
function invokedName(): string {
  for (const candidate of [process.argv0, process.argv[1], process.execPath]) {
    const name = candidate ? basename(candidate) : "";
    if (name in PLUGINS) return name;
  }
  return basename(process.argv0 ?? "");
}

async function main(): Promise<void> {
  const name = invokedName();
  const load = PLUGINS[name];
  if (!load) {
    process.stderr.write(
      `cni-ts: invoked as "${name}"; install this file under one of these names: ${Object.keys(PLUGINS).join(", ")}\n`,
    );
    process.exitCode = 1;
    return;
  }
  for (const [type, loader] of Object.entries(PLUGINS)) registerInProcess(type, loader);
  process.exitCode = await runPlugin(await load());
}

void main();
