/**
 * The iptables masquerade backend (upstream's rules): a per-container chain in table nat that
 * accepts the pod's own subnet and masquerades everything else except multicast, and a
 * POSTROUTING jump from the pod address. One iptables-save and one iptables-restore per family.
 */
import { type Cidr, type Family, formatCidr, formatIp, networkOf } from "../../shared/net/ip.js";
import {
  type SavedTable,
  chainTeardownLines,
  quoteComment,
  restoreTable,
  ruleComment,
  saveTable,
} from "../../shared/net/iptables.js";
import { iptablesChainName, iptablesComment } from "./masq-names.js";

const MULTICAST: Record<Family, string> = { 4: "224.0.0.0/4", 6: "ff00::/8" };

/** Restore lines that (re)create the chain for `ips` of one family; the chain is declared, so refilled. */
export function iptablesSetupLines(
  saved: SavedTable,
  network: string,
  containerId: string,
  ips: readonly Cidr[],
): string[] {
  if (ips.length === 0) return [];
  const chain = iptablesChainName(network, containerId);
  const comment = quoteComment(iptablesComment(network, containerId));
  const lines = [`:${chain} - [0:0]`];
  for (const ip of ips)
    lines.push(`-A ${chain} -d ${formatCidr(networkOf(ip))} -m comment --comment ${comment} -j ACCEPT`);
  const family = ips[0]!.family;
  lines.push(`-A ${chain} ! -d ${MULTICAST[family]} -m comment --comment ${comment} -j MASQUERADE`);
  for (const ip of ips) {
    const jump = `-A POSTROUTING -s ${formatIp(ip)}/${family === 4 ? 32 : 128} -m comment --comment ${comment} -j ${chain}`;
    if (!saved.rules.includes(jump)) lines.push(jump);
  }
  return lines;
}

/** Container ids of this network that own masquerade rules (from the rule comments). */
export function iptablesContainersOf(saved: SavedTable, network: string): Set<string> {
  const ids = new Set<string>();
  const prefix = `name: ${JSON.stringify(network)} id: `;
  for (const rule of saved.rules) {
    const c = ruleComment(rule);
    if (c?.startsWith(prefix)) {
      try {
        const id: unknown = JSON.parse(c.slice(prefix.length));
        if (typeof id === "string") ids.add(id);
      } catch {
        // not one of ours
      }
    }
  }
  return ids;
}

export function iptablesSetup(family: Family, network: string, containerId: string, ips: readonly Cidr[]): void {
  const saved = saveTable(family, "nat");
  restoreTable(family, "nat", iptablesSetupLines(saved, network, containerId, ips));
}

export function iptablesTeardown(family: Family, network: string, containerIds: readonly string[]): void {
  const saved = saveTable(family, "nat");
  const lines = chainTeardownLines(
    saved,
    containerIds.map((id) => iptablesChainName(network, id)),
  );
  restoreTable(family, "nat", lines);
}

/** Removes the rules of containers of `network` that are not in `valid`. */
export function iptablesGc(family: Family, network: string, valid: ReadonlySet<string>): string[] {
  const saved = saveTable(family, "nat");
  const stale = [...iptablesContainersOf(saved, network)].filter((id) => !valid.has(id));
  const lines = chainTeardownLines(
    saved,
    stale.map((id) => iptablesChainName(network, id)),
  );
  restoreTable(family, "nat", lines);
  return stale;
}

/** Rules of the attachment's masquerade setup that `saved` lacks, as save lines ([] when intact). */
export function iptablesMissingRules(
  saved: SavedTable,
  network: string,
  containerId: string,
  ips: readonly Cidr[],
): string[] {
  return iptablesSetupLines(saved, network, containerId, ips).filter(
    (l) => l.startsWith("-A ") && !saved.rules.includes(l),
  );
}

/** Re-creates the attachment's chain and jumps when something is missing; returns what was missing. */
export function iptablesRestore(family: Family, network: string, containerId: string, ips: readonly Cidr[]): string[] {
  const saved = saveTable(family, "nat");
  const missing = iptablesMissingRules(saved, network, containerId, ips);
  if (missing.length > 0) restoreTable(family, "nat", iptablesSetupLines(saved, network, containerId, ips));
  return missing;
}
