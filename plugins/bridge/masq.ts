import { toCniError } from "../../shared/cni/errors.js";
import type { Cidr, Family } from "../../shared/net/ip.js";
import { iptablesAvailable } from "../../shared/net/iptables.js";
import { nftAvailable } from "../../shared/net/nft.js";
import type { MasqBackend } from "./config.js";
import { iptablesGc, iptablesRestore, iptablesSetup, iptablesTeardown } from "./masq-iptables.js";
import { nftGc, nftRestore, nftSetup, nftTeardown } from "./masq-nftables.js";

/** Which backend ADD uses: the configured one, else iptables unless only nft is installed. */
export function chooseBackend(configured: MasqBackend | undefined): MasqBackend {
  if (configured) return configured;
  return !iptablesAvailable(4) && nftAvailable() ? "nftables" : "iptables";
}

export interface Attachment {
  containerId: string;
  ifname: string;
}

export function setupMasq(backend: MasqBackend, network: string, att: Attachment, ips: readonly Cidr[]): void {
  if (backend === "nftables") {
    nftSetup(network, att.ifname, att.containerId, ips);
    return;
  }
  for (const family of [4, 6] as const) {
    const mine = ips.filter((ip) => ip.family === family);
    if (mine.length > 0) iptablesSetup(family, network, att.containerId, mine);
  }
}

/**
 * Removes this attachment's rules from both backends, whatever ADD used and whether or not the pod
 * addresses are known (upstream leaks them, plugins#810). Failures of the backend that is not
 * configured are notes, not errors.
 */
export function teardownMasq(
  backend: MasqBackend,
  network: string,
  att: Attachment,
  note: (msg: string) => void,
  families: readonly Family[] = [4, 6],
): void {
  const errors: unknown[] = [];
  const attempt = (which: MasqBackend, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (which === backend) errors.push(e);
      else note(`ipMasq teardown (${which}, not the configured backend): ${(e as Error).message}`);
    }
  };
  for (const family of families) {
    if (iptablesAvailable(family)) attempt("iptables", () => iptablesTeardown(family, network, [att.containerId]));
  }
  if (nftAvailable()) attempt("nftables", () => nftTeardown(network, att.ifname, att.containerId));
  if (errors.length > 0) throw toCniError(errors[0]).wrap("failed to remove ipMasq rules");
}

/** Removes masquerade rules of `network` whose attachment is not in `valid` (both backends). */
export function gcMasq(network: string, valid: readonly Attachment[], note: (msg: string) => void): void {
  const ids = new Set(valid.map((a) => a.containerId));
  for (const family of [4, 6] as Family[]) {
    if (!iptablesAvailable(family)) continue;
    const removed = iptablesGc(family, network, ids);
    if (removed.length > 0) note(`GC removed iptables masquerade chains of ${removed.join(", ")}`);
  }
  if (nftAvailable()) {
    const n = nftGc(network, valid);
    if (n > 0) note(`GC removed ${n} nftables masquerade rule(s)`);
  }
}

/**
 * Puts back the attachment's masquerade rules where something removed them (firewall-reload),
 * per backend family; returns per family what was missing ([] when intact). Never duplicates:
 * the attachment's own chain (iptables) or rules (nftables) are rewritten whole.
 */
export function restoreMasq(
  backend: MasqBackend,
  network: string,
  att: Attachment,
  ips: readonly Cidr[],
): Array<{ family: Family | "inet"; missing: string[] }> {
  if (backend === "nftables")
    return [{ family: "inet", missing: nftRestore(network, att.ifname, att.containerId, ips) }];
  const out: Array<{ family: Family; missing: string[] }> = [];
  for (const family of [4, 6] as const) {
    const mine = ips.filter((ip) => ip.family === family);
    if (mine.length > 0) out.push({ family, missing: iptablesRestore(family, network, att.containerId, mine) });
  }
  return out;
}
