/**
 * host-local as a library: what each verb does, given a validated config. Synchronous and free
 * of process-wide state (no env, no exit), so bridge can call it in-process.
 */
import { accessSync, constants } from "node:fs";
import { validateContainerId, validateInterfaceName } from "../../shared/cni/env.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Result } from "../../shared/cni/result.js";
import {
  type Attachment,
  EXHAUSTED_TEXT,
  allocate,
  isExhausted,
  releaseAllBut,
  releaseAttachment,
  toIpConfig,
} from "./allocator.js";
import type { IpamConfig } from "./config.js";
import { setToString } from "./range.js";
import { readResolvConf } from "./resolv-conf.js";
import { type LockedStore, dirExists, ensureDir, storeDir, withLockedStore } from "./store.js";
import { formatIp } from "../../shared/net/ip.js";
import { type HolderScan, scanHolders } from "../../shared/node/netns-scan.js";
import {
  DEFAULT_GRACE_MS,
  type JudgedReservation,
  describeLeak,
  judgeStore,
  listReservations,
  releaseLeaked,
} from "./leaks.js";

export interface StoreLocation {
  readonly name: string;
  readonly dataDir: string;
}

function checkAttachment(who: Attachment): void {
  validateContainerId(who.containerId);
  validateInterfaceName(who.ifname);
}

/**
 * ADD: one address per range set; the same attachment asking again gets the same addresses. When
 * a range set is exhausted, leaked reservations (leaks.ts) are reclaimed once and ADD tries again.
 */
export interface AddOptions {
  /** Where notes for the debug trace go (what was reclaimed). */
  note?: (message: string) => void;
  /** The namespace scan (replaceable in unit tests). */
  scan?: () => HolderScan;
}

export function addAddresses(conf: IpamConfig, who: Attachment, opts: AddOptions = {}): Result {
  checkAttachment(who);
  const dns = conf.resolvConf ? readResolvConf(conf.resolvConf) : {};
  const dir = storeDir(conf.dataDir, conf.name);
  ensureDir(dir);
  let allocations;
  try {
    allocations = withLockedStore(dir, (store) => allocate(store, conf.rangeSets, conf.requested, who));
  } catch (e) {
    if (!isExhaustion(e)) throw e;
    allocations = reclaimThenAllocate(conf, dir, who, e, opts);
  }
  return {
    cniVersion: conf.cniVersion,
    interfaces: [],
    ips: allocations.map(toIpConfig),
    routes: conf.routes.map((r) => ({ ...r })),
    dns,
  };
}

function isExhaustion(e: unknown): e is CniError {
  return e instanceof CniError && e.message.includes(EXHAUSTED_TEXT);
}

/**
 * One scan of the node's namespaces (without the lock: it starts a process per namespace), then,
 * under the lock, the release of what is still leaked and a second allocation (also when nothing
 * was leaked: a concurrent reclamation or DEL may have freed addresses meanwhile). A range full
 * of recent reservations needs no scan, since none of them can be leaked yet. The error, when the
 * second try fails too, says what the scan found.
 */
function reclaimThenAllocate(conf: IpamConfig, dir: string, who: Attachment, exhausted: CniError, opts: AddOptions) {
  const oldest = Math.min(...listReservations(dir).map((r) => r.mtimeMs));
  const scan = Date.now() - oldest > DEFAULT_GRACE_MS ? (opts.scan ?? scanHolders)() : undefined;
  const judged = scan ? judgeStore(dir, scan) : [];
  const leaked = judged.filter((r) => r.verdict.kind === "leaked");
  try {
    return withLockedStore(dir, (store) => {
      if (scan && leaked.length > 0) {
        const released = releaseLeaked(store, leaked, scan, DEFAULT_GRACE_MS);
        if (released.length > 0) {
          opts.note?.(
            `host-local: range exhausted; reclaimed ${released.map((r) => describeLeak(r, scan.startedAt - r.mtimeMs)).join(", ")}`,
          );
        }
      }
      return allocateLeavingNoTrace(store, conf, who);
    });
  } catch (e) {
    if (!isExhaustion(e)) throw e;
    throw explainExhaustion(e, scan ? { judged, failures: scan.failures } : undefined);
  }
}

/**
 * The second try: when it fails as well, the store's last-reserved markers are put back as the
 * first try left them, so a failed ADD leaves exactly the state upstream's single try leaves.
 */
function allocateLeavingNoTrace(store: LockedStore, conf: IpamConfig, who: Attachment) {
  const markers = conf.rangeSets.map((_, i) => store.lastReserved(i));
  try {
    return allocate(store, conf.rangeSets, conf.requested, who);
  } catch (e) {
    markers.forEach((ip, i) => {
      const now = store.lastReserved(i);
      if (ip && (!now || formatIp(now) !== formatIp(ip))) store.setLastReserved(i, ip);
    });
    throw e;
  }
}

function explainExhaustion(
  e: CniError,
  found: { judged: readonly JudgedReservation[]; failures: readonly string[] } | undefined,
): CniError {
  const minutes = DEFAULT_GRACE_MS / 60000;
  const count = (kind: string) => found?.judged.filter((r) => r.verdict.kind === kind).length ?? 0;
  const why =
    found === undefined
      ? `every reservation is less than ${minutes} minutes old, so none can be reclaimed yet`
      : found.failures.length > 0
        ? `nothing was reclaimed because the namespace scan was incomplete: ${found.failures[0]}`
        : `${count("held")} reserved addresses are in use in a network namespace, ${count("young")} were reserved less than ${minutes} minutes ago`;
  return new CniError(e.code, e.message, `${why}; DEL stale containers, run \`cni-ts gc\`, or widen the range`);
}

/**
 * DEL: releases the attachment's reservations; nothing to release is success. `alsoLegacy`
 * reproduces upstream's per-range-set loop: with two or more sets it also drops legacy files.
 */
export function releaseAddresses(loc: StoreLocation, who: Attachment, alsoLegacy = false): string[] {
  checkAttachment(who);
  const dir = storeDir(loc.dataDir, loc.name);
  if (!dirExists(dir)) return [];
  return withLockedStore(dir, (store) => releaseAttachment(store, who, alsoLegacy));
}

/** CHECK: the attachment holds at least one reservation, as upstream checks. */
export function checkAddresses(conf: IpamConfig, who: Attachment): void {
  checkAttachment(who);
  const dir = storeDir(conf.dataDir, conf.name);
  ensureDir(dir);
  const found = withLockedStore(dir, (store) => store.holdsAny(who.containerId, who.ifname));
  if (!found) {
    throw new CniError(
      ErrorCode.Internal,
      `host-local: Failed to find address added by container ${who.containerId}`,
      `no reservation of ${who.containerId}/${who.ifname} in ${dir}; ADD the container again`,
    );
  }
}

/** GC: releases every reservation not held by one of `valid`. Returns the released addresses. */
export function collectGarbage(loc: StoreLocation, valid: readonly Attachment[]): string[] {
  const dir = storeDir(loc.dataDir, loc.name);
  if (!dirExists(dir)) return [];
  return withLockedStore(dir, (store) => releaseAllBut(store, valid));
}

/** STATUS: code 50 when the store cannot be used or a range set has no free address. */
export function storeStatus(conf: IpamConfig): void {
  const dir = storeDir(conf.dataDir, conf.name);
  let exhausted: number | undefined;
  try {
    ensureDir(dir);
    accessSync(dir, constants.W_OK);
    exhausted = withLockedStore(dir, (store) => {
      const idx = conf.rangeSets.findIndex((set, i) => isExhausted(store, set, i));
      return idx >= 0 ? idx : undefined;
    });
  } catch (e) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local store ${dir} is not usable: ${(e as Error).message}`,
      "the data directory must be a writable directory on a local filesystem",
    );
  }
  if (exhausted !== undefined) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `failed to allocate for range ${exhausted}: no IP addresses available in range set: ${setToString(conf.rangeSets[exhausted]!)}`,
      "every address is reserved; DEL or GC stale containers, or widen the range",
    );
  }
}
