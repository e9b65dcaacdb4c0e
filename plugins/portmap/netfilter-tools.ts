import { CniError } from "../../shared/cni/errors.js";
import { haveBinary, run } from "../../shared/net/exec.js";
import { type SavedTable, iptablesAvailable, restoreTable, saveTable } from "../../shared/net/iptables.js";
import { nftApply as applyScript } from "../../shared/net/nft.js";
import { type NftFamily, type NftRule, TABLE, parseRules, parseTables } from "./nft-rules.js";

/**
 * The processes portmap starts: one save and at most one restore per iptables family, one list
 * per nft table and one `nft -f -` transaction. Each restore/transaction is atomic, so a failed
 * one leaves nothing half-done.
 */

/** The nat table of one family, or undefined when that family's iptables is unusable here. */
export function readNat(family: 4 | 6): SavedTable | undefined {
  if (!iptablesAvailable(family)) return undefined;
  try {
    return saveTable(family, "nat");
  } catch (e) {
    if (e instanceof CniError) return undefined;
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

/** Runs an nft script as one atomic transaction. */
export function nftApply(lines: readonly string[], what: string): void {
  if (lines.length === 0) return;
  applyScript(lines.join("\n"), what);
}

/**
 * Runs read-then-write `step` up to three times: another plugin invocation changing the same
 * tables between our read and our write makes the transaction fail as a whole; reading again fixes it.
 */
export function withRetry(step: () => void): void {
  for (let attempt = 1; ; attempt++) {
    try {
      step();
      return;
    } catch (e) {
      if (attempt >= 3 || !(e instanceof CniError)) throw e;
    }
  }
}
