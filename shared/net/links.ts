/**
 * Link facts read without starting a process. /proc/self/net/dev always describes our own network
 * namespace; /sys/class/net only does when sysfs was mounted for it (e.g. under `ip netns exec`),
 * so sysfs is used only after checking that it lists exactly the same links.
 */
import { readdirSync, readFileSync } from "node:fs";

export function ownLinkNames(): Set<string> {
  const names = new Set<string>();
  const text = readFileSync("/proc/self/net/dev", "utf8");
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon > 0) names.add(line.slice(0, colon).trim());
  }
  return names;
}

let sysfsOk: boolean | undefined;
/** True when /sys/class/net shows our own namespace (checked once per process). */
export function sysfsIsOwn(): boolean {
  if (sysfsOk === undefined) {
    try {
      const own = ownLinkNames();
      const sys = readdirSync("/sys/class/net");
      sysfsOk = sys.length === own.size && sys.every((n) => own.has(n));
    } catch {
      sysfsOk = false;
    }
  }
  return sysfsOk;
}

export interface SysfsLink {
  address: string;
  operstate: string;
  mtu: number;
}

/** A link's MAC, operstate and MTU from sysfs, or undefined when sysfs cannot be trusted or lacks it. */
export function readSysfsLink(name: string): SysfsLink | undefined {
  if (!sysfsIsOwn()) return undefined;
  try {
    const dir = `/sys/class/net/${name}`;
    const read = (f: string) => readFileSync(`${dir}/${f}`, "utf8").trim();
    return { address: read("address"), operstate: read("operstate"), mtu: Number(read("mtu")) };
  } catch {
    return undefined;
  }
}
