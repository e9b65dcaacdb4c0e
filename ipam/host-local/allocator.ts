import type { Attachment } from "../../shared/cni/attachments.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { IpConfig } from "../../shared/cni/result.js";
import { type Ip, equal, formatIp, withPrefix } from "../../shared/net/ip.js";
import { type Range, type RangeSet, rangeFor, setContains, setToString } from "./range.js";
import { roundRobin } from "./round-robin.js";
import type { LockedStore, Reservation } from "./store.js";

export interface Allocation {
  readonly ip: Ip;
  readonly range: Range;
  /** False when the container already held this address (idempotent ADD). */
  readonly fresh: boolean;
}

export type { Attachment };

export function toIpConfig(a: Allocation): IpConfig {
  return { address: withPrefix(a.ip, a.range.subnet.prefix), gateway: formatIp(a.range.gateway) };
}

/** What upstream says when a range set is full (host-local reclaims leaks when it sees it). */
export const EXHAUSTED_TEXT = "no IP addresses available in range set";

function allocFailure(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/**
 * One address per range set for an attachment, in upstream's order and with its messages, but
 * idempotent: addresses the attachment already holds (exact, else legacy container-ID-only) are
 * returned again instead of failing with "duplicate allocation". The caller holds the store lock
 * for the whole call, so the sets are allocated atomically with respect to other writers.
 */
export function allocate(
  store: LockedStore,
  sets: readonly RangeSet[],
  requested: readonly Ip[],
  who: Attachment,
): Allocation[] {
  const owned = store.ownedBy(who.containerId, who.ifname);
  const pending = new Map(requested.map((ip) => [formatIp(ip), ip]));
  const done: Allocation[] = [];
  const rollback = () => {
    for (const a of done) if (a.fresh) store.release(formatIp(a.ip));
  };
  for (const [idx, set] of sets.entries()) {
    let want: Ip | undefined;
    for (const [key, ip] of pending) {
      if (setContains(set, ip)) {
        want = ip;
        pending.delete(key);
        break;
      }
    }
    try {
      done.push(want ? allocateRequested(store, set, idx, want, who) : allocateNext(store, set, idx, owned, who));
    } catch (e) {
      rollback();
      if (e instanceof CniError) throw e.wrap(`failed to allocate for range ${idx}`);
      throw e;
    }
  }
  if (pending.size > 0) {
    rollback();
    throw allocFailure(`failed to allocate all requested IPs: ${[...pending.keys()].join(" ")}`);
  }
  return done;
}

function allocateRequested(store: LockedStore, set: RangeSet, idx: number, ip: Ip, who: Attachment): Allocation {
  const range = rangeFor(set, ip);
  if (!range) throw allocFailure(`${formatIp(ip)} not in range set ${setToString(set)}`);
  if (equal(ip, range.gateway)) throw allocFailure(`requested ip ${formatIp(ip)} is subnet's gateway`);
  if (store.reserve(ip, who.containerId, who.ifname)) {
    store.setLastReserved(idx, ip);
    return { ip, range, fresh: true };
  }
  const owner = store.owner(formatIp(ip));
  if (owner?.containerId === who.containerId && (owner.ifname === who.ifname || owner.ifname === undefined)) {
    store.refresh(formatIp(ip));
    return { ip, range, fresh: false };
  }
  throw allocFailure(`requested IP address ${formatIp(ip)} is not available in range set ${setToString(set)}`);
}

function allocateNext(
  store: LockedStore,
  set: RangeSet,
  idx: number,
  owned: { exact: Reservation[]; legacy: Reservation[] },
  who: Attachment,
): Allocation {
  for (const r of [...owned.exact, ...owned.legacy]) {
    const range = rangeFor(set, r.ip);
    if (range) {
      store.refresh(r.name);
      return { ip: r.ip, range, fresh: false };
    }
  }
  for (const c of roundRobin(set, store.lastReserved(idx))) {
    if (store.isTaken(c.ip)) continue;
    if (store.reserve(c.ip, who.containerId, who.ifname)) {
      store.setLastReserved(idx, c.ip);
      return { ip: c.ip, range: c.range, fresh: true };
    }
  }
  // Where upstream gives up, reuse an address whose file names nobody (a crashed writer's leftover).
  for (const c of roundRobin(set, store.lastReserved(idx))) {
    const name = formatIp(c.ip);
    if (!store.isOrphan(name)) continue;
    store.release(name);
    if (store.reserve(c.ip, who.containerId, who.ifname)) {
      store.setLastReserved(idx, c.ip);
      return { ip: c.ip, range: c.range, fresh: true };
    }
  }
  throw allocFailure(`${EXHAUSTED_TEXT}: ${setToString(set)}`);
}

/** Upstream's release: every file of (containerId, ifname); the legacy files only if none matched exactly. */
export function releaseAttachment(store: LockedStore, who: Attachment, alsoLegacy: boolean): string[] {
  const { exact, legacy } = store.ownedBy(who.containerId, who.ifname);
  const victims = exact.length === 0 || alsoLegacy ? [...exact, ...legacy] : exact;
  for (const r of victims) store.release(r.name);
  return victims.map((r) => r.name);
}

/**
 * CNI GC: releases every reservation not held by a valid attachment. Legacy files (container ID
 * only) survive when any valid attachment has their container ID; empty or unreadable files
 * belong to nobody and are released.
 */
export function releaseAllBut(store: LockedStore, valid: readonly Attachment[]): string[] {
  const exact = new Set(valid.map((a) => `${a.containerId}\n${a.ifname}`));
  const ids = new Set(valid.map((a) => a.containerId));
  const released: string[] = [];
  for (const r of store.reservations()) {
    const o = store.owner(r.name);
    const keep =
      o !== undefined && (o.ifname === undefined ? ids.has(o.containerId) : exact.has(`${o.containerId}\n${o.ifname}`));
    if (!keep) {
      store.release(r.name);
      released.push(r.name);
    }
  }
  return released;
}

/** True when range set `idx` has no address left (what the next dynamic ADD would find). */
export function isExhausted(store: LockedStore, set: RangeSet, idx: number): boolean {
  for (const c of roundRobin(set, store.lastReserved(idx))) if (!store.isTaken(c.ip)) return false;
  return true;
}
