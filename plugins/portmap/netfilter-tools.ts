/**
 * The processes portmap starts: one save and at most one restore per iptables family, one list
 * per nft table and one `nft -f -` transaction. Each restore/transaction is atomic, so a failed
 * one leaves nothing half-done.
 */
import { mkdirSync } from "node:fs";
import { CniError, ErrorCode, isExpectedError } from "../../shared/cni/errors.js";
import { SystemError } from "../../shared/sys/system-error.js";
import { FileLockError, withFileLock } from "../../shared/sys/flock.js";
import { haveBinary, run } from "../../shared/net/process.js";
import { type SavedTable, iptablesAvailable, restoreTable, saveTable } from "../../shared/net/iptables.js";
import { type NftFamily, type NftRule, TABLE, parseRules, parseTables } from "./nft-rules.js";

/** The nat table of one family, or undefined when that family's iptables is unusable here. */
export function readNat(family: 4 | 6): SavedTable | undefined {
  if (!iptablesAvailable(family)) return undefined;
  try {
    return saveTable(family, "nat");
  } catch (e) {
    if (e instanceof SystemError) return undefined;
    throw e;
  }
}

/** Applies restore lines to the nat table in one transaction (-w: wait for the xtables lock). */
export function applyNat(family: 4 | 6, lines: readonly string[]): void {
  restoreTable(family, "nat", lines);
}

/** Which families have our nft table (one process). */
export function nftTables(): NftFamily[] {
  if (!haveBinary("nft")) return [];
  const r = run(["nft", "-j", "list", "tables"], { check: false });
  return r.status === 0 ? parseTables(r.stdout) : [];
}

/** The rules of our table in one family ([] when the table does not exist). */
export function nftRules(family: NftFamily): NftRule[] {
  const r = run(["nft", "-j", "list", "table", family, TABLE], { check: false });
  return r.status === 0 ? parseRules(r.stdout) : [];
}

/**
 * Serialises our own read-then-write steps on this machine. Without it two ADDs racing on a
 * fresh node both see CNI-HOSTPORT-DNAT missing, and the second restore's chain declaration
 * flushes the first one's entries. (iptables-nft has no xtables lock; other tools still race as
 * they always did.) A single lock file, so nothing accumulates; the critical section is one read
 * and one write.
 */
export const LOCK_FILE = "/run/cni-ts/portmap.lock";

function withLock<T>(fn: () => T): T {
  const cannotOpen = (e: Error) =>
    new CniError(
      ErrorCode.IoFailure,
      `cannot open ${LOCK_FILE}: ${e.message}`,
      "portmap must run as root with /run writable",
    );
  try {
    mkdirSync("/run/cni-ts", { recursive: true, mode: 0o700 });
  } catch (e) {
    throw cannotOpen(e as Error);
  }
  try {
    return withFileLock(LOCK_FILE, "a", 0o600, fn);
  } catch (e) {
    if (!(e instanceof FileLockError)) throw e;
    throw e.stage === "open" ? cannotOpen(e.original) : e.original;
  }
}

/**
 * Runs read-then-write `step` under the lock, up to three times: a change by another tool between
 * our read and our write makes the transaction fail as a whole; reading again fixes it.
 */
export function withRetry(step: () => void): void {
  withLock(() => {
    for (let attempt = 1; ; attempt++) {
      try {
        step();
        return;
      } catch (e) {
        if (attempt >= 3 || !isExpectedError(e)) throw e;
      }
    }
  });
}

/**
 * Creates missing shared chains with `iptables -N` (never flushes; "already exists" from a
 * concurrent creator is fine), so a restore never has to declare a chain others fill.
 */
export function createChains(family: 4 | 6, chains: readonly string[]): void {
  const cmd = family === 6 ? "ip6tables" : "iptables";
  for (const chain of chains) {
    const r = run([cmd, "-w", "5", "-t", "nat", "-N", chain], { check: false });
    if (r.status !== 0 && !/exists/i.test(r.stderr)) {
      throw new CniError(ErrorCode.Internal, `${cmd} -t nat -N ${chain}: ${r.stderr.trim().split("\n")[0]}`);
    }
  }
}
