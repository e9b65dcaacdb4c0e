import { accessSync, constants } from "node:fs";
import { validateContainerId, validateInterfaceName } from "../../shared/cni/env.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Result } from "../../shared/cni/result.js";
import { type Attachment, allocate, isExhausted, releaseAllBut, releaseAttachment, toIpConfig } from "./allocator.js";
import type { IpamConfig } from "./config.js";
import { setToString } from "./range.js";
import { readResolvConf } from "./resolv-conf.js";
import { dirExists, ensureDir, storeDir, withLockedStore } from "./store.js";

/**
 * host-local as a library: what each verb does, given a validated config. Synchronous and free
 * of process-wide state (no env, no exit), so bridge can call it in-process.
 */

export interface StoreLocation {
  readonly name: string;
  readonly dataDir: string;
}

function checkAttachment(who: Attachment): void {
  validateContainerId(who.containerId);
  validateInterfaceName(who.ifname);
}

/** ADD: one address per range set; the same attachment asking again gets the same addresses. */
export function addAddresses(conf: IpamConfig, who: Attachment): Result {
  checkAttachment(who);
  const dns = conf.resolvConf ? readResolvConf(conf.resolvConf) : {};
  const dir = storeDir(conf.dataDir, conf.name);
  ensureDir(dir);
  const allocations = withLockedStore(dir, (store) => allocate(store, conf.rangeSets, conf.requested, who));
  return {
    cniVersion: conf.cniVersion,
    interfaces: [],
    ips: allocations.map(toIpConfig),
    routes: conf.routes.map((r) => ({ ...r })),
    dns,
  };
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
