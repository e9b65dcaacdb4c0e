/**
 * sysctls: files under /proc/sys; those of another namespace are written from inside it (setns
 * under Bun, else one `sysctl` process). Keys use "/" separators so that
 * interface names containing dots stay intact.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { SystemError } from "../sys/system-error.js";
import { withNetns } from "../sys/netns-enter.js";
import { run } from "./process.js";

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

/** "EINVAL: invalid argument, write" → "Invalid argument", the way sysctl(8) words it. */
function errnoText(e: Error): string {
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(e.message);
  return m ? m[1]!.charAt(0).toUpperCase() + m[1]!.slice(1) : e.message;
}

/**
 * Sets several sysctls inside `netns`; unknown keys are ignored (sysctl -e). Under Bun the files are
 * written from inside the namespace (no process), elsewhere one `sysctl` process does it.
 */
export function writeNetnsSysctls(netns: string, entries: ReadonlyArray<readonly [string, string]>): void {
  if (entries.length === 0) return;
  const failure = withNetns(netns, () => {
    for (const [k, v] of entries) {
      try {
        writeSysctl(k, v);
      } catch (e) {
        return `setting key "${k}": ${errnoText(e as Error)}`;
      }
    }
    return undefined;
  });
  if (failure) {
    if (failure.value === undefined) return;
    throw new SystemError(`failed to set sysctls in ${netns}: ${failure.value}`);
  }
  run(["sysctl", "-q", "-e", "-w", ...entries.map(([k, v]) => `${k}=${v}`)], {
    netns,
    what: `failed to set sysctls in ${netns}`,
  });
}
