/**
 * The nftables masquerade backend (upstream's table inet cni_plugins_masquerade): one rule per pod
 * address in chain masq_checks, tagged with a comment that starts with a hash of
 * (network, ifname, containerID); one listing and one `nft -f -` transaction per change.
 */
import { type Cidr, formatCidr, formatIp, networkOf } from "../../shared/net/ip.js";
import { nftApply, nftListChain, nftListTable, nftQuote, type NftRule } from "../../shared/net/nft.js";
import { nftComment, nftInstanceHash, nftNetworkHash } from "./masq-names.js";

export const MASQ_TABLE = "cni_plugins_masquerade";
export const MASQ_CHAIN = "masq_checks";
const T = `inet ${MASQ_TABLE}`;

export function nftSetupScript(
  stale: readonly NftRule[],
  network: string,
  ifname: string,
  containerId: string,
  ips: readonly Cidr[],
): string {
  const comment = nftQuote(nftComment(network, ifname, containerId));
  const lines = [
    `add table ${T} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
    `add chain ${T} ${MASQ_CHAIN} { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority srcnat ; }`,
    `flush chain ${T} postrouting`,
    `add rule ${T} postrouting ip daddr == 224.0.0.0/4 return`,
    `add rule ${T} postrouting ip6 daddr == ff00::/8 return`,
    `add rule ${T} postrouting goto ${MASQ_CHAIN}`,
    ...stale.map((r) => `delete rule ${T} ${MASQ_CHAIN} handle ${r.handle}`),
  ];
  for (const ip of ips) {
    const v = ip.family === 4 ? "ip" : "ip6";
    lines.push(
      `add rule ${T} ${MASQ_CHAIN} ${v} saddr == ${formatIp(ip)} ${v} daddr != ${formatCidr(networkOf(ip))} masquerade comment ${comment}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export function nftDeleteScript(rules: readonly NftRule[]): string {
  return rules.map((r) => `delete rule ${T} ${MASQ_CHAIN} handle ${r.handle}\n`).join("");
}

function listMasqChecks(): NftRule[] {
  return nftListChain("inet", MASQ_TABLE, MASQ_CHAIN) ?? [];
}

export function nftSetup(network: string, ifname: string, containerId: string, ips: readonly Cidr[]): void {
  const prefix = nftInstanceHash(network, ifname, containerId);
  const stale = listMasqChecks().filter((r) => r.comment?.startsWith(prefix));
  nftApply(nftSetupScript(stale, network, ifname, containerId, ips), "failed to set up nftables masquerade");
}

export function nftTeardown(network: string, ifname: string, containerId: string): void {
  const prefix = nftInstanceHash(network, ifname, containerId);
  const rules = listMasqChecks().filter((r) => r.comment?.startsWith(prefix));
  if (rules.length > 0) nftApply(nftDeleteScript(rules), "failed to remove nftables masquerade");
}

/** Removes rules of `network` whose attachment is not valid; returns how many. */
export function nftGc(network: string, valid: ReadonlyArray<{ containerId: string; ifname: string }>): number {
  const keep = new Set(valid.map((a) => nftComment(network, a.ifname, a.containerId)));
  const prefix = `${nftNetworkHash(network)}-`;
  const stale = listMasqChecks().filter((r) => r.comment?.startsWith(prefix) && !keep.has(r.comment));
  if (stale.length > 0) nftApply(nftDeleteScript(stale), "failed to remove stale nftables masquerade rules");
  return stale.length;
}

/**
 * What the attachment's nftables masquerade lacks: its rules in masq_checks (one per address,
 * by comment) and the postrouting chain's three rules. Empty when intact.
 */
export function nftMissing(network: string, ifname: string, containerId: string, ips: readonly Cidr[]): string[] {
  const table = nftListTable("inet", MASQ_TABLE);
  if (!table) return [`table inet ${MASQ_TABLE}`];
  const comment = nftComment(network, ifname, containerId);
  const problems: string[] = [];
  const mine = table.rules.filter((r) => r.chain === MASQ_CHAIN && r.comment === comment).length;
  if (mine < ips.length) problems.push(`${ips.length - mine} rule(s) in ${MASQ_CHAIN}`);
  const base = table.rules.filter((r) => r.chain === "postrouting").length;
  if (base < 3) problems.push(`${3 - base} rule(s) in postrouting`);
  return problems;
}

/** Re-creates the attachment's masquerade rules when something is missing; returns what was missing. */
export function nftRestore(network: string, ifname: string, containerId: string, ips: readonly Cidr[]): string[] {
  const missing = nftMissing(network, ifname, containerId, ips);
  if (missing.length > 0) nftSetup(network, ifname, containerId, ips);
  return missing;
}
