/**
 * Which allocated addresses count as leaked, until the leak definition of the leak-reclamation
 * work (issue 15) is available to switch to: an address is leaked when no live pod namespace
 * holds it — its reservation names no owner, no attachment in libcni's cache matches the owner
 * (network, container ID and, when recorded, interface), or the matching attachment's namespace
 * is gone. An attachment whose result names no namespace counts as holding its address.
 */
import { ownerOf } from "../../../ipam/host-local/store.js";
import type { CachedAttachment, Liveness } from "../cached-attachments.js";

export type HolderIndex = ReadonlyMap<string, Liveness>;

const key = (network: string, containerId: string, ifname: string) => `${network}\u0000${containerId}\u0000${ifname}`;

/** The cache's attachments by (network, container, interface), with their liveness. */
export function holderIndex(attachments: ReadonlyArray<CachedAttachment & { liveness: Liveness }>): HolderIndex {
  return new Map(attachments.map((a) => [key(a.network, a.containerId, a.ifname), a.liveness]));
}

export function isLeaked(network: string, reservationContent: string, holders: HolderIndex): boolean {
  const owner = ownerOf(reservationContent);
  if (!owner) return true;
  if (owner.ifname !== undefined) {
    const state = holders.get(key(network, owner.containerId, owner.ifname));
    return state === undefined || state === "gone";
  }
  // A legacy reservation (container ID only): held if any interface of that container is.
  const prefix = key(network, owner.containerId, "");
  for (const [k, state] of holders) if (k.startsWith(prefix) && state !== "gone") return false;
  return true;
}
