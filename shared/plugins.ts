/**
 * The suite's plugins, by the name each is installed and invoked as. The list itself is
 * shared/plugin-names.json so that the build script (plain Node) and the shell tools read the
 * same one; this module gives it its type.
 */
import names from "./plugin-names.json" with { type: "json" };

export type PluginName = "bridge" | "host-local" | "flannel" | "loopback" | "portmap" | "bandwidth";

export const PLUGIN_NAMES: readonly PluginName[] = names as PluginName[];

export function isPluginName(s: string): s is PluginName {
  return (PLUGIN_NAMES as readonly string[]).includes(s);
}
