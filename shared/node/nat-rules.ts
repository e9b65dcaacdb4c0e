/**
 * The firewall rules that name a container — bridge's masquerade rules and portmap's hostPort
 * rules, in iptables' nat table (comments `name: "N" id: "C"`, `dnat name: …`) and in their
 * nftables tables (masquerade: `<hash>, net: N, if: I, id: C`; hostPort: the container ID alone,
 * so no network; the localnet guard's rule there names no container) — so doctor and gc can find
 * rules of containers that hold nothing any more.
 */
import { GUARD_CHAIN } from "../../plugins/portmap/localnet-guard.js";
import { type NftRule, parseNftJson } from "../net/nft.js";
import { run } from "../net/process.js";

export interface NatRule {
  /** "" when the rule does not say (portmap's nftables rules): any network with portmap. */
  network: string;
  containerId: string;
  kind: "masquerade" | "hostPort";
}

const NFT_MASQ_TABLE = "cni_plugins_masquerade";
const NFT_HOSTPORT_TABLE = "cni_hostport";
/** knftables cuts comments at 128 characters: a cut one may name a different container. */
const NFT_COMMENT_MAX = 128;

/** Rules of bridge's and portmap's nftables tables, from `nft -j list ruleset` output. */
export function parseNftRules(json: string): NatRule[] {
  let rules: NftRule[];
  try {
    rules = parseNftJson(json).rules;
  } catch {
    return [];
  }
  const out = new Map<string, NatRule>();
  for (const rule of rules) {
    const comment = rule.comment;
    if (!comment) continue;
    let found: NatRule | undefined;
    if (rule.table === NFT_MASQ_TABLE && comment.length < NFT_COMMENT_MAX) {
      const m = /, net: (.+), if: (.+), id: (.+)$/.exec(comment);
      if (m) found = { network: m[1]!, containerId: m[3]!, kind: "masquerade" };
    } else if (rule.table === NFT_HOSTPORT_TABLE && rule.chain !== GUARD_CHAIN) {
      found = { network: "", containerId: comment, kind: "hostPort" };
    }
    if (found) out.set(`${found.kind}\n${found.network}\n${found.containerId}`, found);
  }
  return [...out.values()];
}

/** Every rule naming a container, in both backends, as this namespace has them now. */
export function containerRules(): NatRule[] {
  const tool = (argv: string[]): string => {
    try {
      const r = run(argv, { check: false });
      return r.status === 0 ? r.stdout : "";
    } catch {
      return ""; // the tool is not installed: no rules of that backend
    }
  };
  return [
    ...parseNatRules(tool(["iptables-save", "-t", "nat"])),
    ...parseNftRules(tool(["nft", "-j", "list", "ruleset"])),
  ];
}

/** Rules whose comment names a network and a container: bridge's `name: "N" id: "C"`, portmap's `dnat name: …`. */
export function parseNatRules(save: string): NatRule[] {
  const out = new Map<string, NatRule>();
  for (const line of save.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const m = /--comment "(dnat )?name: \\"([^"\\]+)\\" id: \\"([^"\\]+)\\""/.exec(line);
    if (!m) continue;
    const rule: NatRule = { network: m[2]!, containerId: m[3]!, kind: m[1] ? "hostPort" : "masquerade" };
    out.set(`${rule.kind}\n${rule.network}\n${rule.containerId}`, rule);
  }
  return [...out.values()];
}
