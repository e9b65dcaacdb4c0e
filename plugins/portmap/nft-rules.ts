/**
 * The nftables layout of the reference portmap: per family a table `cni_hostport` with regular
 * chains hostports (any local address) and hostip_hostports (one host address), base chains
 * prerouting/output (nat, dstnat priority) jumping to them, and masquerading (nat, srcnat).
 * Every per-container rule carries the container ID as its comment: that is how DEL finds them,
 * whichever implementation made them.
 */
import { parseNftJson } from "../../shared/net/nft.js";
import type { IfAddress } from "./address.js";
import { isUnspecified } from "./address.js";
import type { PortmapConf } from "./config.js";
import { mappingsFor } from "./config.js";

export const TABLE = "cni_hostport";
export const RULE_CHAINS = ["hostports", "hostip_hostports", "masquerading"] as const;

export type NftFamily = "ip" | "ip6";
export const familyName = (family: 4 | 6): NftFamily => (family === 6 ? "ip6" : "ip");

/** A rule as `nft -j list table` shows it. */
export interface NftRule {
  family: NftFamily;
  chain: string;
  handle: number;
  comment?: string;
}

const isOurFamily = (family: string | undefined): family is NftFamily => family === "ip" || family === "ip6";

/** The rules of our table in `nft -j list table FAMILY cni_hostport` output. */
export function parseRules(json: string): NftRule[] {
  return parseNftJson(json)
    .rules.filter((r) => r.table === TABLE)
    .flatMap((r) =>
      isOurFamily(r.family) ? [{ family: r.family, chain: r.chain, handle: r.handle, comment: r.comment }] : [],
    );
}

/** Which of our tables exist, from `nft -j list tables`. */
export function parseTables(json: string): NftFamily[] {
  return parseNftJson(json)
    .tables.filter((t) => t.name === TABLE)
    .flatMap((t) => (isOurFamily(t.family) ? [t.family] : []));
}

/** Deletes, by handle, every rule of ours whose comment is the container ID. */
export function deleteLines(rules: readonly NftRule[], isDoomed: (comment: string) => boolean): string[] {
  return rules
    .filter(
      (r) => (RULE_CHAINS as readonly string[]).includes(r.chain) && r.comment !== undefined && isDoomed(r.comment),
    )
    .map((r) => `delete rule ${r.family} ${TABLE} ${r.chain} handle ${r.handle}`);
}

function quote(comment: string): string {
  return `"${comment}"`;
}

/** The nft script that sets up the table for one family and adds the container's rules. */
export function addLines(conf: PortmapConf, containerId: string, addr: IfAddress): string[] {
  const fam = familyName(addr.family);
  const t = `${fam} ${TABLE}`;
  const cond = (addr.family === 6 ? conf.conditionsV6 : conf.conditionsV4).join(" ");
  const pre = cond ? `${cond} ` : "";
  const lines = [
    `add table ${t} { comment "CNI portmap plugin" ; }`,
    `add chain ${t} hostports`,
    `add chain ${t} hostip_hostports`,
    `add chain ${t} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${pre}jump hostip_hostports`,
    // Only traffic to a local address: without this, forwarded traffic to that port would be taken too.
    `add rule ${t} prerouting ${pre}fib daddr type local jump hostports`,
    `add chain ${t} output { type nat hook output priority -100 ; }`,
    `flush chain ${t} output`,
    `add rule ${t} output ${pre}jump hostip_hostports`,
    `add rule ${t} output ${pre}fib daddr type local jump hostports`,
  ];
  const c = quote(containerId);
  const to = addr.family === 6 ? (p: number) => `[${addr.ip}]:${p}` : (p: number) => `${addr.ip}:${p}`;
  for (const m of mappingsFor(conf.mappings, addr.family)) {
    const dnat = `${m.protocol} dport ${m.hostPort} dnat to ${to(m.containerPort)} comment ${c}`;
    if (m.hostIP && !isUnspecified(m.hostIP))
      lines.push(`add rule ${t} hostip_hostports ${fam} daddr ${m.hostIP} ${dnat}`);
    else lines.push(`add rule ${t} hostports ${dnat}`);
  }
  if (conf.snat) {
    lines.push(`add chain ${t} masquerading { type nat hook postrouting priority 100 ; }`);
    for (const r of masqueradeRules(conf, addr)) lines.push(`add rule ${t} masquerading ${r} comment ${c}`);
  }
  return lines;
}

function masqueradeRules(conf: PortmapConf, addr: IfAddress): string[] {
  const fam = familyName(addr.family);
  // masqAll: every connection that was DNATed to the container, whatever its source.
  if (conf.masqAll) return [`ct status dnat ${fam} daddr ${addr.ip} masquerade`];
  const rules = [`${fam} saddr ${addr.ip} ${fam} daddr ${addr.ip} masquerade`];
  if (addr.family === 4) rules.push(`ip saddr 127.0.0.1 ip daddr ${addr.ip} masquerade`);
  return rules;
}

/** Problems CHECK finds for one family: too few rules carrying the container ID per chain. */
export function checkProblems(
  rules: readonly NftRule[],
  conf: PortmapConf,
  containerId: string,
  addr: IfAddress,
): string[] {
  const mine = (chain: string) => rules.filter((r) => r.chain === chain && r.comment === containerId).length;
  const maps = mappingsFor(conf.mappings, addr.family);
  const withIp = maps.filter((m) => m.hostIP && !isUnspecified(m.hostIP)).length;
  const want: Record<string, number> = {
    hostports: maps.length - withIp,
    hostip_hostports: withIp,
    masquerading: conf.snat && maps.length > 0 ? masqueradeRules(conf, addr).length : 0,
  };
  const problems: string[] = [];
  for (const [chain, n] of Object.entries(want)) {
    const have = mine(chain);
    if (have < n)
      problems.push(
        `missing hostport rules in "${chain}" chain of ${familyName(addr.family)} ${TABLE} (${have} of ${n})`,
      );
  }
  // The base chains' two jumps (to hostip_hostports and, for local addresses, to hostports).
  for (const chain of ["prerouting", "output"]) {
    const have = rules.filter((r) => r.chain === chain).length;
    if (maps.length > 0 && have < 2)
      problems.push(`missing jumps in "${chain}" chain of ${familyName(addr.family)} ${TABLE} (${have} of 2)`);
  }
  return problems;
}
