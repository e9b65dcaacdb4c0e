/**
 * The guard that makes route_localnet safe. portmap sets route_localnet on the interface towards
 * the pod so that localhost:hostPort can be DNATed to the pod; that also lets packets addressed to
 * 127.0.0.0/8 arriving on that interface reach services bound to the node's loopback
 * (containernetworking/plugins#729, the CVE-2020-8558 class). The guard drops, on input, packets
 * to 127.0.0.0/8 that did not come from the node itself (not on lo, not from 127.0.0.0/8) and are
 * not part of a connection the node started or DNATed — kube-proxy's rule, plus `! -i lo` so a
 * node process bound to another address still reaches localhost.
 *
 * One guard per node and backend: IPv4 filter INPUT in iptables, chain `localnet_guard` (filter
 * hook input) in nft table `ip cni_hostport`. It stays while any IPv4 port mapping of that backend
 * remains and goes with the last one (DEL, GC).
 */
import { run } from "../../shared/net/process.js";
import { type SavedTable, iptablesAvailable, parseSavedTable, restoreTable } from "../../shared/net/iptables.js";
import { nftApply, nftAvailable } from "../../shared/net/nft.js";
import type { Backend } from "./config.js";
import { TOP_DNAT_CHAIN } from "./iptables-rules.js";
import { nftRules, withRetry } from "./netfilter-tools.js";
import { type NftRule, TABLE } from "./nft-rules.js";

const COMMENT = "cni-ts portmap: drop martian traffic to 127.0.0.0/8 (route_localnet)";

/** The guard as iptables-save prints it (filter table). */
export const IPTABLES_GUARD =
  `-A INPUT ! -s 127.0.0.0/8 -d 127.0.0.0/8 ! -i lo -m comment --comment "${COMMENT}" ` +
  "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP";

export const GUARD_CHAIN = "localnet_guard";

/** nft lines creating the guard chain with its one rule (the table may be new). */
export function nftGuardLines(): string[] {
  const t = `ip ${TABLE}`;
  return [
    `add table ${t} { comment "CNI portmap plugin" ; }`,
    `add chain ${t} ${GUARD_CHAIN} { type filter hook input priority 0 ; }`,
    `flush chain ${t} ${GUARD_CHAIN}`,
    `add rule ${t} ${GUARD_CHAIN} iifname != "lo" ip saddr != 127.0.0.0/8 ip daddr 127.0.0.0/8 ` +
      `ct state != { established, related } ct status & dnat == 0 counter drop comment "${COMMENT}"`,
  ];
}

/** Whether an iptables nat table still forwards some IPv4 host port (any network's container). */
export function iptablesNeedsGuard(nat: SavedTable): boolean {
  return nat.rules.some((r) => r.startsWith(`-A ${TOP_DNAT_CHAIN} `) && r.includes(' --comment "dnat name: '));
}

/** Whether our IPv4 nft table still holds some container's mapping. */
export function nftNeedsGuard(rules: readonly NftRule[]): boolean {
  return rules.some((r) => (r.chain === "hostports" || r.chain === "hostip_hostports") && r.comment !== undefined);
}

export function nftHasGuard(rules: readonly NftRule[]): boolean {
  return rules.some((r) => r.chain === GUARD_CHAIN && r.comment === COMMENT);
}

function saveIpv4(): { nat: SavedTable; filter: SavedTable } {
  const text = run(["iptables-save"], { what: "iptables-save" }).stdout;
  return { nat: parseSavedTable(text, "nat"), filter: parseSavedTable(text, "filter") };
}

/** Installs the guard in `backend` unless it is there; true when it was added. */
export function ensureLocalnetGuard(backend: Backend): boolean {
  let added = false;
  withRetry(() => {
    if (backend === "nftables") {
      if (nftHasGuard(nftRules("ip"))) return;
      nftApply(nftGuardLines(), "installing the localnet guard (nftables)");
    } else {
      const filter = parseSavedTable(
        run(["iptables-save", "-t", "filter"], { what: "iptables-save -t filter" }).stdout,
        "filter",
      );
      if (filter.rules.includes(IPTABLES_GUARD)) return;
      restoreTable(4, "filter", [`-I INPUT 1 ${IPTABLES_GUARD.slice("-A INPUT ".length)}`]);
    }
    added = true;
  });
  return added;
}

/** Removes the guard from each backend that no longer forwards an IPv4 host port. */
export function releaseLocalnetGuard(): void {
  withRetry(() => {
    if (iptablesAvailable(4)) {
      const { nat, filter } = saveIpv4();
      const present = filter.rules.filter((r) => r === IPTABLES_GUARD);
      if (present.length > 0 && !iptablesNeedsGuard(nat))
        restoreTable(
          4,
          "filter",
          present.map((r) => `-D${r.slice(2)}`),
        );
    }
    if (nftAvailable()) {
      const rules = nftRules("ip");
      if (nftHasGuard(rules) && !nftNeedsGuard(rules)) {
        nftApply(
          [`flush chain ip ${TABLE} ${GUARD_CHAIN}`, `delete chain ip ${TABLE} ${GUARD_CHAIN}`],
          "removing the localnet guard (nftables)",
        );
      }
    }
  });
}
