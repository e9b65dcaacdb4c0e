import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { IfAddress } from "./address.js";
import type { PortmapConf } from "./config.js";
import { addLines, chainName, checkProblems, containersOf, missingSharedChains } from "./iptables-rules.js";
import { chainTeardownLines } from "../../shared/net/iptables.js";
import { applyNat, createChains, readNat, withRetry } from "./netfilter-tools.js";

/** Per family: read the nat table once, write the difference in one iptables-restore. */
export function addIptables(conf: PortmapConf, containerId: string, addrs: readonly IfAddress[]): void {
  for (const addr of addrs) {
    withRetry(() => {
      const table = readNat(addr.family);
      if (!table) throw unusable(addr.family);
      createChains(addr.family, missingSharedChains(table, conf));
      applyNat(addr.family, addLines(table, conf, containerId, addr));
    });
  }
}

function unusable(family: 4 | 6): CniError {
  const tool = family === 6 ? "ip6tables" : "iptables";
  return new CniError(
    ErrorCode.Internal,
    `${tool} is not usable on this node (${tool}-save -t nat failed)`,
    `install iptables or set "backend": "nftables"`,
  );
}

function containerChains(network: string, containerId: string): string[] {
  return [chainName("DN-", network, containerId), chainName("SN-", network, containerId)];
}

/** Deletes the container's chains and the rules jumping to them, in both families. */
export function removeIptables(conf: PortmapConf, containerId: string): void {
  removeChains(containerChains(conf.name, containerId));
}

function removeChains(chains: readonly string[]): void {
  for (const family of [4, 6] as const) {
    withRetry(() => {
      const table = readNat(family);
      if (table) applyNat(family, chainTeardownLines(table, chains));
    });
  }
}

export function checkIptables(conf: PortmapConf, containerId: string, addrs: readonly IfAddress[]): string[] {
  const problems: string[] = [];
  for (const addr of addrs) {
    const table = readNat(addr.family);
    if (!table) problems.push(unusable(addr.family).message);
    else problems.push(...checkProblems(table, conf, containerId, addr));
  }
  return problems;
}

/** Tears down the chains of this network's containers that are not in `valid`. */
export function gcIptables(conf: PortmapConf, valid: ReadonlySet<string>): void {
  const stale = new Set<string>();
  for (const family of [4, 6] as const) {
    const table = readNat(family);
    if (!table) continue;
    for (const id of containersOf(table, conf.name).keys()) if (!valid.has(id)) stale.add(id);
  }
  if (stale.size > 0) removeChains([...stale].flatMap((id) => containerChains(conf.name, id)));
}
