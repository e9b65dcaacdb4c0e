/**
 * Each plugin's module, by the name it is invoked as. Everything is imported lazily: a runtime
 * calls VERSION often and it should cost no more than the process start.
 */
import type { Plugin } from "./cni/plugin.js";
import type { PluginName } from "./plugins.js";

export async function loadPlugin(name: PluginName): Promise<Plugin> {
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
