/**
 * macspoofchk (upstream's pkg/link names): table bridge nat, base chain PREROUTING (filter hook,
 * priority -300) jumping per host port to cni-br-iface-<id>, which only lets the pod's MAC pass.
 */
import { nftApply, nftListTable, nftQuote } from "../../shared/net/nft.js";
import { spoofCheckId } from "./masq-names.js";

const T = "bridge nat";

function names(containerId: string, ifname: string): { iface: string; mac: string; comment: string } {
  const id = spoofCheckId(containerId, ifname);
  return { iface: `cni-br-iface-${id}`, mac: `cni-br-iface-${id}-mac`, comment: `macspoofchk-${id}` };
}

export function spoofCheckScript(hostVeth: string, mac: string, containerId: string, ifname: string): string {
  const c = names(containerId, ifname);
  const comment = nftQuote(c.comment);
  return [
    `add table ${T}`,
    `add chain ${T} PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }`,
    `add chain ${T} ${c.iface}`,
    `add chain ${T} ${c.mac}`,
    `flush chain ${T} ${c.iface}`,
    `flush chain ${T} ${c.mac}`,
    `add rule ${T} PREROUTING iifname ${nftQuote(hostVeth)} jump ${c.iface} comment ${comment}`,
    `add rule ${T} ${c.iface} jump ${c.mac} comment ${comment}`,
    `add rule ${T} ${c.mac} ether saddr ${mac} return comment ${comment}`,
    `add rule ${T} ${c.mac} drop comment ${comment}`,
    "",
  ].join("\n");
}

export function setupSpoofCheck(hostVeth: string, mac: string, containerId: string, ifname: string): void {
  nftApply(spoofCheckScript(hostVeth, mac, containerId, ifname), "failed to setup spoof-check");
}

/** Removes the PREROUTING jump and both chains in one transaction; nothing there is not an error. */
export function teardownSpoofCheck(containerId: string, ifname: string): void {
  const c = names(containerId, ifname);
  const table = nftListTable("bridge", "nat");
  if (table === undefined) return;
  const lines = table.rules
    .filter((r) => r.chain === "PREROUTING" && (r.comment === c.comment || r.jumpTarget === c.iface))
    .map((r) => `delete rule ${T} PREROUTING handle ${r.handle}`);
  for (const chain of [c.iface, c.mac]) if (table.chains.has(chain)) lines.push(`flush chain ${T} ${chain}`);
  for (const chain of [c.iface, c.mac]) if (table.chains.has(chain)) lines.push(`delete chain ${T} ${chain}`);
  if (lines.length > 0) nftApply(`${lines.join("\n")}\n`, "failed to teardown spoof-check");
}
