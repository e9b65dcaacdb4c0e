import type { IfAddress } from "./address.js";
import type { PortmapConf } from "./config.js";
import { nftApply } from "../../shared/net/nft.js";
import { nftRules, nftTables, withRetry } from "./netfilter-tools.js";
import { addLines, checkProblems, deleteLines, familyName } from "./nft-rules.js";

/** One transaction for all families: stale rules of this container out, fresh ones in. */
export function addNft(conf: PortmapConf, containerId: string, addrs: readonly IfAddress[]): void {
  withRetry(() => {
    const lines: string[] = [];
    const present = new Set(nftTables());
    for (const addr of addrs) {
      const fam = familyName(addr.family);
      if (present.has(fam)) lines.push(...deleteLines(nftRules(fam), (c) => c === containerId));
      lines.push(...addLines(conf, containerId, addr));
    }
    nftApply(lines, "setting up port mappings (nftables)");
  });
}

/** Deletes every rule commented with `containerId` from our tables (any family). */
export function removeNft(containerId: string): void {
  removeWhere((c) => c === containerId);
}

function removeWhere(isDoomed: (comment: string) => boolean): void {
  withRetry(() => {
    const lines = nftTables().flatMap((fam) => deleteLines(nftRules(fam), isDoomed));
    nftApply(lines, "removing port mappings (nftables)");
  });
}

export function checkNft(conf: PortmapConf, containerId: string, addrs: readonly IfAddress[]): string[] {
  return addrs.flatMap((addr) => checkProblems(nftRules(familyName(addr.family)), conf, containerId, addr));
}

/**
 * Removes rules of containers not in `valid`. The nft layout marks rules with the container ID
 * only (no network name), so this assumes one network uses portmap's nft table on the node.
 */
export function gcNft(valid: ReadonlySet<string>): void {
  removeWhere((c) => !valid.has(c));
}
