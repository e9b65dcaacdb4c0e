import { randomBytes } from "../../shared/sys/crypto-lite.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { GONE } from "../../shared/net/batch.js";
import type { LinkInfo } from "../../shared/net/ip-json.js";
import { kernel, type KernelQuery } from "../../shared/net/kernel.js";
import { ownLinkNames, readSysfsLink } from "../../shared/net/links.js";

export interface BridgeState {
  bridge: LinkInfo | undefined;
  /** The "<bridge>.<vlan>" gateway interface, when it exists. */
  vlanGw: LinkInfo | undefined;
}

/**
 * The bridge as it is now: nothing to ask when /proc/self/net/dev does not list it (fresh node),
 * else its addresses and the VLAN gateway interface (one kernel call). Not its ports: listing
 * them costs a millisecond per few dozen pods, and only an address conflict needs their count.
 */
export function inspectBridge(bridge: string, vlanGw: string | undefined): BridgeState {
  const names = ownLinkNames();
  if (!names.has(bridge)) return { bridge: undefined, vlanGw: undefined };
  const withVlan = vlanGw !== undefined && names.has(vlanGw);
  const queries: KernelQuery[] = [{ q: "addrs", dev: bridge }];
  if (withVlan) queries.push({ q: "addrs", dev: vlanGw });
  const [link, gw] = kernel([], queries, { what: `failed to inspect bridge "${bridge}"` }) as [
    LinkInfo | undefined,
    LinkInfo | undefined,
  ];
  if (link === undefined) return { bridge: undefined, vlanGw: undefined };
  if (link.kind !== "bridge") {
    throw new CniError(
      ErrorCode.Internal,
      `failed to create bridge "${bridge}": "${bridge}" already exists but is not a bridge`,
      `a ${link.kind || "non-bridge"} link named "${bridge}" exists; rename it or set "bridge" in the config to another name`,
    );
  }
  return { bridge: link, vlanGw: withVlan ? gw : undefined };
}

/** How many links are enslaved to the bridge now. */
export function countBridgePorts(bridge: string): number {
  const [ports] = kernel([], [{ q: "ports", master: bridge }], { what: `failed to list the ports of "${bridge}"` });
  return ports.length;
}

/** A host veth name as upstream makes it: "veth" + 8 hex digits from 4 random bytes. */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString("hex")}`;
}

/** A random unicast, locally administered MAC (what the kernel would pick). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** MAC and operstate of host links, from sysfs when it shows our namespace, else from the kernel. */
export function readHostLinks(
  names: readonly string[],
): Map<string, { address: string; operstate: string; mtu: number }> {
  const out = new Map<string, { address: string; operstate: string; mtu: number }>();
  const missing: string[] = [];
  for (const n of names) {
    const s = readSysfsLink(n);
    if (s) out.set(n, { ...s, operstate: s.operstate.toUpperCase() });
    else missing.push(n);
  }
  if (missing.length > 0) {
    const shown = kernel(
      [],
      missing.map((dev) => ({ q: "link", dev }) as const),
      { what: "failed to read host links" },
    );
    for (const l of shown) if (l) out.set(l.ifname, { address: l.address, operstate: l.operstate, mtu: l.mtu });
  }
  return out;
}

/** Best-effort removal of a host link after a failed ADD. */
export function deleteHostLink(name: string): void {
  kernel([{ op: { op: "link-del", dev: name }, tolerate: GONE }], []);
}
