/**
 * Waits until the kernel has published every carrier change. The carrier itself (LOWER_UP) is
 * updated at once, but operstate, IFF_RUNNING (NO-CARRIER), a route's "linkdown" and the IPv6
 * routes addrconf adds or drops follow from the linkwatch worker, up to a second later when there
 * was other link activity in the last second. Observing before that makes two identical runs
 * differ by timing alone.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Netns } from "./netns.js";
import { type LinkInfo, links } from "./observe.js";

/**
 * Kinds that drive their carrier (and so get operstate UP or DOWN from linkwatch). For them
 * UNKNOWN, the operstate a link is created with, means linkwatch has not run yet; lo, dummy and
 * vxlan stay UNKNOWN for good.
 */
const CARRIER_KINDS = new Set(["bridge", "veth", "macvlan", "ipvlan", "vlan"]);

/** Whether this link's carrier (sync) and operstate (async) still disagree. */
export function carrierChangePending(l: LinkInfo): boolean {
  if (!l.flags.includes("UP")) return false;
  const carrier = l.flags.includes("LOWER_UP");
  if (carrier && l.operstate === "UNKNOWN" && CARRIER_KINDS.has(l.linkinfo?.info_kind ?? "")) return true;
  const operUp = l.operstate === "UP" || l.operstate === "UNKNOWN";
  const operDown = l.operstate === "DOWN" || l.operstate === "LOWERLAYERDOWN";
  return (carrier && operDown) || (!carrier && operUp);
}

/** Polls (50 ms) until no link in the namespaces has a pending carrier change, at most timeoutMs. */
export async function settleLinks(namespaces: readonly Netns[], timeoutMs = 2500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pending = false;
    for (const ns of namespaces) {
      if ((await links(ns)).some(carrierChangePending)) {
        pending = true;
        break;
      }
    }
    if (!pending || Date.now() >= deadline) return;
    await sleep(50);
  }
}
