/**
 * Which addresses the node's network namespaces hold — the "holder" half of the leak definition
 * (ipam/host-local/leaks.ts has the reservation half). "Every network namespace" is every one this
 * process can find: those pinned under /run/netns and /var/run/netns, any other nsfs bind mount in
 * /proc/self/mountinfo, those of live processes and threads (/proc/PID/task/TID/ns/net) and those
 * held only through an open file descriptor (/proc/PID/fd/N). Each namespace is read once (by
 * inode) with one `ip -br addr show` started inside it.
 *
 * A namespace that exists but cannot be read makes the scan incomplete, and an incomplete scan
 * must release nothing. Seeing more namespaces than the node's own (other tests on the same
 * machine, other plugins' pods) only adds holders: the scan can err towards keeping, never towards
 * releasing.
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { run } from "../net/process.js";
import { probeNetns } from "../net/netns.js";
import { formatIp, parseIp } from "../net/ip.js";

export interface HolderScan {
  /** Every address (Go's canonical text, no prefix) configured in any namespace found. */
  readonly addresses: ReadonlySet<string>;
  /** How many distinct namespaces were read. */
  readonly namespaces: number;
  /** Why the scan is incomplete; empty when complete. */
  readonly failures: readonly string[];
  /** Date.now() when enumeration began: anything reserved after it may be missing from the scan. */
  readonly startedAt: number;
}

export function isComplete(scan: HolderScan): boolean {
  return scan.failures.length === 0;
}

export function holds(scan: HolderScan, address: string): boolean {
  const ip = parseIp(address);
  return scan.addresses.has(ip ? formatIp(ip) : address);
}

/** Where the scan looks; overridable so unit tests can point it at a fake tree. */
export interface ScanSources {
  proc: string;
  pinDirs: readonly string[];
  /** Reads the addresses of the namespace at `path` (undefined: this process's own namespace). */
  readAddresses(path: string | undefined): string[];
}

export const NODE_SOURCES: ScanSources = {
  proc: "/proc",
  pinDirs: ["/run/netns", "/var/run/netns"],
  readAddresses: ipBriefAddresses,
};

/** Inode of a namespace handle from readlink text "net:[4026531840]". */
function inodeFromLink(text: string): string | undefined {
  return /^net:\[(\d+)\]$/.exec(text)?.[1];
}

function readlinkQuiet(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function listQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The inode behind a handle path, or undefined when there is nothing there (any more). */
function inodeAt(path: string): string | undefined {
  try {
    return String(statSync(path).ino);
  } catch {
    return undefined;
  }
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** nsfs bind mounts of network namespaces in this mount namespace: mount point -> inode. */
function mountedNamespaces(proc: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync(join(proc, "self/mountinfo"), "utf8").split("\n")) {
      const [left, right] = line.split(" - ");
      const fields = left?.split(" ") ?? [];
      if (right?.split(" ")[0] !== "nsfs") continue;
      const inode = /^net:\[(\d+)\]$/.exec(fields[3] ?? "")?.[1];
      if (inode !== undefined && fields[4] !== undefined) out.set(unescapeMount(fields[4]), inode);
    }
  } catch {
    // no mountinfo (not Linux's /proc): pinned and process namespaces still count
  }
  return out;
}

/** Every path through which a namespace can be reached, grouped by its inode. */
export function findNamespaces(src: ScanSources = NODE_SOURCES): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (inode: string | undefined, path: string) => {
    if (inode === undefined) return;
    const paths = found.get(inode);
    if (paths) paths.push(path);
    else found.set(inode, [path]);
  };
  for (const dir of src.pinDirs) {
    for (const name of listQuiet(dir)) {
      const path = join(dir, name);
      // `ip netns add` creates the file before it bind-mounts the namespace on it (and `del`
      // unmounts before it unlinks): a plain file there is no namespace, not an unreadable one.
      if (probeNetns(path).state === "ok") add(inodeAt(path), path);
    }
  }
  for (const [path, inode] of mountedNamespaces(src.proc)) add(inode, path);
  for (const pid of listQuiet(src.proc)) {
    if (!/^\d+$/.test(pid)) continue;
    const procDir = join(src.proc, pid);
    for (const tid of listQuiet(join(procDir, "task"))) {
      const path = join(procDir, "task", tid, "ns/net");
      add(inodeFromLink(readlinkQuiet(path) ?? ""), path);
    }
    for (const fd of listQuiet(join(procDir, "fd"))) {
      const path = join(procDir, "fd", fd);
      const inode = inodeFromLink(readlinkQuiet(path) ?? "");
      if (inode !== undefined) add(inode, path);
    }
  }
  return found;
}

/**
 * Reads every namespace found. A namespace is read through the first of its paths that works;
 * when every path fails and any of them still leads to that namespace, the scan is incomplete
 * (it exists but could not be entered). When all of them are gone, so is the namespace.
 */
export function scanHolders(src: ScanSources = NODE_SOURCES): HolderScan {
  const startedAt = Date.now();
  const own =
    inodeFromLink(readlinkQuiet(join(src.proc, "thread-self/ns/net")) ?? "") ??
    inodeFromLink(readlinkQuiet(join(src.proc, "self/ns/net")) ?? "");
  const addresses = new Set<string>();
  const failures: string[] = [];
  let namespaces = 0;
  for (const [inode, paths] of findNamespaces(src)) {
    let read: string[] | undefined;
    const errors: string[] = [];
    if (inode === own) {
      try {
        read = src.readAddresses(undefined);
      } catch (e) {
        errors.push(`this process's own namespace: ${(e as Error).message.split("\n")[0]}`);
      }
    } else {
      for (const path of paths) {
        if (inodeAt(path) !== inode) continue; // gone, or something else is mounted over it now
        try {
          read = src.readAddresses(path);
          break;
        } catch (e) {
          if (inodeAt(path) === inode) errors.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
        }
      }
    }
    if (read === undefined) {
      // Still mounted but something else sits on its mount point: it exists and cannot be read.
      if (
        errors.length === 0 &&
        [...mountedNamespaces(src.proc)].some(([path, ino]) => ino === inode && inodeAt(path) !== inode)
      ) {
        errors.push(`its mount point is covered by another mount`);
      }
      if (errors.length > 0) failures.push(`network namespace ${inode} could not be read (${errors[0]})`);
      continue;
    }
    namespaces++;
    for (const a of read) {
      const ip = parseIp(a);
      addresses.add(ip ? formatIp(ip) : a);
    }
  }
  return { addresses, namespaces, failures, startedAt };
}

/** `ip -br addr show` in the namespace: "eth0@if5 UP 10.244.1.2/24 fe80::1/64" per link. */
export function ipBriefAddresses(path: string | undefined): string[] {
  const r = run(["ip", "-br", "addr", "show"], {
    ...(path === undefined ? {} : { netns: path }),
    what: "ip -br addr show",
  });
  return parseBriefAddresses(r.stdout);
}

export function parseBriefAddresses(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    for (const f of fields.slice(2)) {
      const address = f.split("/")[0]!;
      if (parseIp(address)) out.push(address);
    }
  }
  return out;
}
