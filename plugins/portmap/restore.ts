/**
 * Puts back the port mappings of one live attachment after something removed them (a firewall
 * reload, `iptables -t nat -F`, a deleted nft table): per address family, the rules CHECK would
 * miss are re-created with ADD's own idempotent step, in the backend the attachment's config
 * resolves to (as its ADD did). A family whose rules are all there is left untouched.
 */
import type { Result } from "../../shared/cni/result.js";
import type { IfAddress } from "./address.js";
import { containerAddresses, installedRuleTools, parsePortmapConf } from "./config.js";
import { addIptables } from "./iptables-backend.js";
import { checkProblems as iptablesProblems } from "./iptables-rules.js";
import { ensureLocalnetGuard } from "./localnet-guard.js";
import { addNft } from "./nft-backend.js";
import { familyName, checkProblems as nftProblems } from "./nft-rules.js";
import { nftRules, readNat } from "./netfilter-tools.js";
import { enableRouteLocalnet } from "./route-localnet.js";

export interface RestoreOutcome {
  /** e.g. "portmap iptables ipv4" */
  what: string;
  /** What was missing and has been put back; empty when everything was there. */
  missing: string[];
}

export interface PortmapAttachment {
  /** The plugin's config as libcni sends it (runtimeConfig holds the portMappings). */
  raw: Record<string, unknown>;
  network: string;
  containerId: string;
  ifname: string;
  result: Result;
}

export function restorePortmap(att: PortmapAttachment): RestoreOutcome[] {
  const conf = parsePortmapConf(att.raw, att.network, att.raw.runtimeConfig, installedRuleTools);
  if (conf.mappings.length === 0) return [];
  const out: RestoreOutcome[] = [];
  for (const addr of containerAddresses(att.result, att.ifname)) {
    const what = `portmap ${conf.backend} ipv${addr.family}`;
    const problems = missing(conf.backend, conf, att.containerId, addr);
    if (problems.length > 0) {
      if (conf.backend === "nftables") addNft(conf, att.containerId, [addr]);
      else addIptables(conf, att.containerId, [addr]);
    }
    out.push({ what, missing: problems });
  }
  const v4 = containerAddresses(att.result, att.ifname).find((a) => a.family === 4);
  if (conf.snat && v4) {
    enableRouteLocalnet(v4.ip);
    if (ensureLocalnetGuard(conf.backend))
      out.push({
        what: `portmap ${conf.backend} localnet guard`,
        missing: ["the drop rule for martian traffic to 127.0.0.0/8"],
      });
  }
  return out;
}

function missing(
  backend: "iptables" | "nftables",
  conf: Parameters<typeof iptablesProblems>[1],
  containerId: string,
  addr: IfAddress,
): string[] {
  if (backend === "nftables") return nftProblems(nftRules(familyName(addr.family)), conf, containerId, addr);
  const table = readNat(addr.family);
  return table
    ? iptablesProblems(table, conf, containerId, addr)
    : [`${addr.family === 6 ? "ip6tables" : "iptables"} unusable`];
}
