import { readFileSync, writeFileSync } from "node:fs";
import { run } from "./exec.js";

/**
 * sysctls: those of our own network namespace are files under /proc/sys (no process); those of
 * another namespace are written by one `sysctl` process inside it. Keys use "/" separators so that
 * interface names containing dots stay intact.
 */
function path(key: string): string {
  return `/proc/sys/${key.replace(/^\/+/, "")}`;
}

/** The value without its newline, or undefined when the key does not exist (e.g. IPv6 disabled). */
export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(path(key), "utf8").replace(/\n$/, "");
  } catch {
    return undefined;
  }
}

/** Writes the value; a missing key (IPv6 disabled, interface gone) is reported as false, not thrown. */
export function writeSysctl(key: string, value: string): boolean {
  try {
    writeFileSync(path(key), value);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    throw e;
  }
}

/** Writes only when the current value differs (as pkg/ip's echo1 for forwarding). */
export function ensureSysctl(key: string, value: string): boolean {
  const current = readSysctl(key);
  if (current === undefined) return false;
  if (current.trim() === value) return true;
  return writeSysctl(key, value);
}

/** Sets several sysctls inside `netns` with one process; unknown keys are ignored (sysctl -e). */
export function writeNetnsSysctls(netns: string, entries: ReadonlyArray<readonly [string, string]>): void {
  if (entries.length === 0) return;
  run(["sysctl", "-q", "-e", "-w", ...entries.map(([k, v]) => `${k}=${v}`)], {
    netns,
    what: `failed to set sysctls in ${netns}`,
  });
}
