/**
 * The iptables layout of the reference portmap (nat table), written in exactly the form
 * iptables-save prints, so a rule we want can be compared with what the kernel holds as text:
 *   PREROUTING, OUTPUT: -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
 *   CNI-HOSTPORT-DNAT:  one multiport rule per protocol per container -j CNI-DN-<hash>
 *   CNI-DN-<hash>:      per mapping: hairpin mark, localhost mark (v4), DNAT
 *   POSTROUTING (first): -j CNI-HOSTPORT-MASQ: masquerade packets carrying the mark
 */
import { sha512Hex } from "../../shared/sys/crypto-lite.js";
import type { IfAddress } from "./address.js";
import { isUnspecified } from "./address.js";
import { type SavedTable, ruleChain, ruleComment, ruleTarget } from "../../shared/net/iptables.js";
import type { PortmapConf } from "./config.js";
import { mappingsFor } from "./config.js";

export const TOP_DNAT_CHAIN = "CNI-HOSTPORT-DNAT";
export const SETMARK_CHAIN = "CNI-HOSTPORT-SETMARK";
export const MASQ_CHAIN = "CNI-HOSTPORT-MASQ";
/**
 * iptables limits chain names to 28 characters; the hash fills what "CNI-" + prefix leaves.
 * "SN-" chains (entered from CNI-HOSTPORT-SNAT) are what old plugin versions made; DEL still removes them.
 */
export function chainName(prefix: "DN-" | "SN-", network: string, containerId: string): string {
  const hash = sha512Hex(network + containerId);
  return `CNI-${prefix}${hash.slice(0, 28 - 4 - prefix.length)}`;
}

/** Quotes one argument for iptables-restore when it holds spaces or quotes. */
export function quoteArg(arg: string): string {
  return /^[^\s"'\\]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, "\\$1")}"`;
}

function markDef(bit: number): string {
  const v = (2 ** bit).toString(16);
  return `0x${v}/0x${v}`;
}

/** The iptables comment limit is 255 bytes; longer ones are cut as upstream does. */
export function dnatComment(network: string, containerId: string): string {
  const c = `dnat name: "${network}" id: "${containerId}"`;
  return c.length <= 255 ? c : `${c.slice(0, 253)}...`;
}

export function sharedRules(conf: PortmapConf): { append: string[]; prepend: string[] } {
  const append = [
    `-A PREROUTING -m addrtype --dst-type LOCAL -j ${TOP_DNAT_CHAIN}`,
    `-A OUTPUT -m addrtype --dst-type LOCAL -j ${TOP_DNAT_CHAIN}`,
  ];
  const prepend: string[] = [];
  if (conf.snat && !conf.externalSetMarkChain) {
    const mark = markDef(conf.markMasqBit);
    append.unshift(
      `-A ${SETMARK_CHAIN} -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${mark}`,
      `-A ${MASQ_CHAIN} -m mark --mark ${mark} -j MASQUERADE`,
    );
    prepend.push(`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j ${MASQ_CHAIN}`);
  }
  return { append, prepend };
}

/** The per-container chain's rules, in iptables-save form. */
export function containerRules(conf: PortmapConf, chain: string, addr: IfAddress): string[] {
  const six = addr.family === 6;
  const host = six ? "/128" : "/32";
  const markChain = conf.externalSetMarkChain ?? SETMARK_CHAIN;
  const out: string[] = [];
  for (const m of mappingsFor(conf.mappings, addr.family)) {
    const dst = m.hostIP && !isUnspecified(m.hostIP) ? `-d ${m.hostIP}${host} ` : "";
    const match = `${dst}-p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort}`;
    if (conf.snat) {
      // masqAll marks every source; iptables-save omits the then meaningless "-s 0.0.0.0/0".
      const hairpinSrc = conf.masqAll ? "" : `-s ${addr.network}/${addr.prefix} `;
      out.push(`-A ${chain} ${hairpinSrc}${match} -j ${markChain}`);
      if (!six && !conf.masqAll) out.push(`-A ${chain} -s 127.0.0.1/32 ${match} -j ${markChain}`);
    }
    const to = six ? `[${addr.ip}]:${m.containerPort}` : `${addr.ip}:${m.containerPort}`;
    out.push(`-A ${chain} ${match} -j DNAT --to-destination ${to}`);
  }
  return out;
}

/** multiport takes at most 15 ports per rule. */
function chunks(ports: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += 15) out.push(ports.slice(i, i + 15).join(","));
  return out;
}

/**
 * The rules that lead into the container's chain, as argument lists (conditions are the user's
 * own iptables matches, so these are written for restore, not in save form). Every mapping's
 * port counts, whatever its hostIP family, as upstream.
 */
export function entryRuleArgs(conf: PortmapConf, containerId: string, chain: string, family: 4 | 6): string[][] {
  const byProto = new Map<string, number[]>();
  for (const m of conf.mappings) byProto.set(m.protocol, [...(byProto.get(m.protocol) ?? []), m.hostPort]);
  const conditions = family === 6 ? conf.conditionsV6 : conf.conditionsV4;
  const out: string[][] = [];
  for (const proto of [...byProto.keys()].sort()) {
    for (const ports of chunks(byProto.get(proto) ?? [])) {
      out.push([
        "-p",
        proto,
        "-m",
        "comment",
        "--comment",
        dnatComment(conf.name, containerId),
        "-m",
        "multiport",
        "--dports",
        ports,
        ...conditions,
        "-j",
        chain,
      ]);
    }
  }
  return out;
}

/** Shared chains the container's rules need that `table` does not have yet. */
export function missingSharedChains(table: SavedTable, conf: PortmapConf): string[] {
  const need = conf.snat && !conf.externalSetMarkChain ? [SETMARK_CHAIN, MASQ_CHAIN, TOP_DNAT_CHAIN] : [TOP_DNAT_CHAIN];
  return need.filter((c) => !table.chains.has(c));
}

/**
 * Restore lines that (re)create the container's rules on top of what `table` holds. The shared
 * chains must exist already (missingSharedChains): declaring them here would flush them.
 */
export function addLines(table: SavedTable, conf: PortmapConf, containerId: string, addr: IfAddress): string[] {
  const chain = chainName("DN-", conf.name, containerId);
  const shared = sharedRules(conf);
  const have = new Set(table.rules);
  const lines: string[] = [];
  // Declaring the container's own chain creates it, or flushes what an earlier ADD left in it.
  lines.push(`:${chain} - [0:0]`);
  for (const r of shared.append) if (!have.has(r)) lines.push(r);
  for (const r of shared.prepend) if (!have.has(r)) lines.push(`-I ${r.slice(3).replace(" ", " 1 ")}`);
  for (const rule of table.rules) {
    if (ruleTarget(rule) === chain && ruleChain(rule) !== chain) lines.push(`-D${rule.slice(2)}`);
  }
  lines.push(...containerRules(conf, chain, addr));
  // Prepended, so the newest container claiming a host port wins (as current upstream does).
  const entries = entryRuleArgs(conf, containerId, chain, addr.family);
  for (const args of entries.reverse()) lines.push(`-I ${TOP_DNAT_CHAIN} 1 ${args.map(quoteArg).join(" ")}`);
  return lines;
}

/** Problems CHECK finds for one family (empty when the container's rules are all there). */
export function checkProblems(table: SavedTable, conf: PortmapConf, containerId: string, addr: IfAddress): string[] {
  const chain = chainName("DN-", conf.name, containerId);
  if (!table.chains.has(chain)) return [`chain ${chain} not found in iptables table nat`];
  const have = new Set(table.rules);
  const problems: string[] = [];
  for (const r of [...sharedRules(conf).append, ...sharedRules(conf).prepend, ...containerRules(conf, chain, addr)]) {
    if (!have.has(r)) problems.push(`rule "${r}" not found in table nat`);
  }
  for (const args of entryRuleArgs(conf, containerId, chain, addr.family)) {
    const proto = args[1];
    const ports = args[args.indexOf("--dports") + 1];
    const found = table.rules.some(
      (r) =>
        r.startsWith(`-A ${TOP_DNAT_CHAIN} `) &&
        ruleTarget(r) === chain &&
        r.includes(`-p ${proto} `) &&
        r.includes(`--dports ${ports} `),
    );
    if (!found) problems.push(`no rule in ${TOP_DNAT_CHAIN} sends ${proto} ports ${ports} to ${chain}`);
  }
  return problems;
}

/** Containers with rules of `network` in CNI-HOSTPORT-DNAT, read from the entry rules' comments. */
export function containersOf(table: SavedTable, network: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rule of table.rules) {
    if (ruleChain(rule) !== TOP_DNAT_CHAIN) continue;
    const m = /^dnat name: "([^"]*)" id: "([^"]*)"$/.exec(ruleComment(rule) ?? "");
    if (m && m[1] === network && m[2]) out.set(m[2], ruleTarget(rule) ?? "");
  }
  return out;
}
