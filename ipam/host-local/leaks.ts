/**
 * The leak definition, over a host-local store: a reservation is leaked when no network namespace
 * on the node holds its address (shared/node/netns-scan.ts) and it is older than a grace period,
 * so that an ADD in progress (reservation written, interface not configured yet) never loses its
 * address. An idempotent re-ADD refreshes the file's time (allocator.ts), so it too is protected.
 *
 * Used by host-local when a range is exhausted, by `cni-ts gc` and `cni-ts doctor`, and by anything
 * else that needs to know (metrics). Finding is read-only and lock-free; releasing re-checks every
 * candidate under the store lock, against the same scan, so nothing is ever handed out twice.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatIp, parseIp } from "../../shared/net/ip.js";
import { type HolderScan, holds, isComplete } from "../../shared/node/netns-scan.js";
import { addReclaimed } from "./reclaimed-count.js";
import { type LockedStore, type Owner, ownerOf } from "./store.js";

/**
 * Longer than any ADD can take between reserving and configuring the address: the kubelet gives
 * up on a sandbox after its 2-minute runtime request timeout.
 */
export const DEFAULT_GRACE_MS = 5 * 60 * 1000;

export type LeakVerdict =
  /** A namespace holds the address: in use. */
  | { kind: "held" }
  /** Nobody holds it but it is too recent to tell from an ADD in progress. */
  | { kind: "young"; ageMs: number }
  /** Nobody holds it and it is older than the grace period. */
  | { kind: "leaked"; ageMs: number }
  /** The scan was incomplete: nothing can be called leaked. */
  | { kind: "unknown" };

export interface ReservationInfo {
  /** The store directory (<dataDir>/<network>). */
  readonly dir: string;
  /** The file name: the address. */
  readonly address: string;
  /** Undefined for an empty or unreadable file. */
  readonly owner: Owner | undefined;
  readonly mtimeMs: number;
}

export interface JudgedReservation extends ReservationInfo {
  readonly verdict: LeakVerdict;
}

/** Every reservation in a store directory, read without the lock (files are written whole). */
export function listReservations(dir: string): ReservationInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: ReservationInfo[] = [];
  for (const name of names) {
    const ip = parseIp(name);
    if (!ip || formatIp(ip) !== name) continue;
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      out.push({ dir, address: name, owner: ownerOf(readFileSync(path, "utf8")), mtimeMs: st.mtimeMs });
    } catch {
      // released while we looked
    }
  }
  return out.sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
}

/**
 * The verdict for one reservation. Age is measured against the scan's start, not now: an address
 * configured after the scan began may be missing from it, and only a reservation that was already
 * older than the grace period then can no longer belong to an ADD in progress.
 */
export function judge(r: { address: string; mtimeMs: number }, scan: HolderScan, graceMs: number): LeakVerdict {
  if (holds(scan, r.address)) return { kind: "held" };
  if (!isComplete(scan)) return { kind: "unknown" };
  const ageMs = scan.startedAt - r.mtimeMs;
  return ageMs > graceMs ? { kind: "leaked", ageMs } : { kind: "young", ageMs: Math.max(0, ageMs) };
}

export function judgeStore(dir: string, scan: HolderScan, graceMs = DEFAULT_GRACE_MS): JudgedReservation[] {
  return listReservations(dir).map((r) => ({ ...r, verdict: judge(r, scan, graceMs) }));
}

export function sameOwner(a: Owner | undefined, b: Owner | undefined): boolean {
  return a?.containerId === b?.containerId && a?.ifname === b?.ifname;
}

/**
 * Releases, under the store lock the caller holds, each candidate that is still what it was when
 * judged (same owner) and still leaked by the same scan, re-read from disk now. Returns the
 * released (with `dryRun`, those it would release, touching nothing).
 */
export function releaseLeaked(
  store: LockedStore,
  candidates: readonly ReservationInfo[],
  scan: HolderScan,
  graceMs: number,
  opts: { dryRun?: boolean } = {},
): ReservationInfo[] {
  const released: ReservationInfo[] = [];
  for (const c of candidates) {
    const ip = parseIp(c.address);
    if (!ip || !store.isTaken(ip)) continue;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(join(store.dir, c.address)).mtimeMs;
    } catch {
      continue;
    }
    const owner = store.owner(c.address);
    if (!sameOwner(owner, c.owner)) continue;
    if (judge({ address: c.address, mtimeMs }, scan, graceMs).kind !== "leaked") continue;
    if (!opts.dryRun) store.release(c.address);
    released.push({ ...c, mtimeMs });
  }
  if (!opts.dryRun) addReclaimed(store.dir, released.length);
  return released;
}

/** "10.244.1.5 (abc…/eth0, 3600 s old, in no network namespace)" for notes and reports. */
export function describeLeak(r: ReservationInfo, ageMs: number): string {
  const who = r.owner
    ? `${r.owner.containerId}${r.owner.ifname === undefined ? "" : `/${r.owner.ifname}`}`
    : "no owner";
  return `${r.address} (${who}, ${Math.round(ageMs / 1000)} s old, in no network namespace)`;
}
