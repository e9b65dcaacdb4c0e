/**
 * How many leaked reservations have been reclaimed per network, for `cni-ts metrics`' counter.
 * Kept beside the stores, never in one: `<dataDir>/.cni-ts-reclaimed/<network>` (a network name
 * cannot start with a dot, so no store can collide with it, and the Go plugin never looks there).
 * One small file per network holding a decimal number; updated under the store lock by whoever
 * releases (host-local's own reclamation, `cni-ts gc --apply`), replaced atomically.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function reclaimedCountPath(storeDir: string): string {
  return join(dirname(storeDir), ".cni-ts-reclaimed", basename(storeDir));
}

export function readReclaimedCount(storeDir: string): number {
  try {
    const n = Number(readFileSync(reclaimedCountPath(storeDir), "utf8").trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * Adds `n` to the network's total. A counter, not state: it is not fsynced, and a failure to
 * write it never fails the release that was counted.
 */
export function addReclaimed(storeDir: string, n: number): void {
  if (n <= 0) return;
  const path = reclaimedCountPath(storeDir);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${readReclaimedCount(storeDir) + n}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  } catch {
    // metrics only
  }
}
