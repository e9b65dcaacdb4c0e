import { randomBytes } from "../../shared/sys/crypto-lite.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { ipBatch, parseJsonStream, run } from "../../shared/net/exec.js";
import { type LinkInfo, parseLink } from "../../shared/net/ip-json.js";
import { ownLinkNames, readSysfsLink } from "../../shared/net/links.js";

export interface BridgeState {
  bridge: LinkInfo | undefined;
  /** Links enslaved to the bridge. */
  ports: LinkInfo[];
  /** The "<bridge>.<vlan>" gateway interface, when it exists. */
  vlanGw: LinkInfo | undefined;
}

/**
 * The bridge as it is now: nothing to ask when /proc/self/net/dev does not list it (fresh node),
 * else one `ip -d -j -batch` process for its addresses, its ports and the VLAN gateway interface.
 */
export function inspectBridge(bridge: string, vlanGw: string | undefined): BridgeState {
  const names = ownLinkNames();
  if (!names.has(bridge)) return { bridge: undefined, ports: [], vlanGw: undefined };
  const lines = [`addr show dev ${bridge}`, `link show master ${bridge}`];
  const withVlan = vlanGw !== undefined && names.has(vlanGw);
  if (withVlan) lines.push(`addr show dev ${vlanGw}`);
  const out = parseJsonStream(ipBatch(lines, { json: true, details: true, what: `failed to inspect bridge "${bridge}"` }).stdout);
  const br = out[0]?.[0];
  if (br === undefined) return { bridge: undefined, ports: [], vlanGw: undefined };
  const link = parseLink(br);
  if (link.kind !== "bridge") {
    throw new CniError(
      ErrorCode.Internal,
      `failed to create bridge "${bridge}": "${bridge}" already exists but is not a bridge`,
      `a ${link.kind || "non-bridge"} link named "${bridge}" exists; rename it or set "bridge" in the config to another name`,
    );
  }
  return {
    bridge: link,
    ports: (out[1] ?? []).map(parseLink),
    vlanGw: withVlan && out[2]?.[0] !== undefined ? parseLink(out[2][0]) : undefined,
  };
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

/** MAC and operstate of host links, from sysfs when it shows our namespace, else one `ip -j` process. */
export function readHostLinks(names: readonly string[]): Map<string, { address: string; operstate: string; mtu: number }> {
  const out = new Map<string, { address: string; operstate: string; mtu: number }>();
  const missing: string[] = [];
  for (const n of names) {
    const s = readSysfsLink(n);
    if (s) out.set(n, { ...s, operstate: s.operstate.toUpperCase() });
    else missing.push(n);
  }
  if (missing.length > 0) {
    const shown = parseJsonStream(
      ipBatch(missing.map((n) => `link show dev ${n}`), { json: true, what: "failed to read host links" }).stdout,
    );
    for (const arr of shown) {
      for (const raw of arr) {
        const l = parseLink(raw);
        out.set(l.ifname, { address: l.address, operstate: l.operstate, mtu: l.mtu });
      }
    }
  }
  return out;
}

/** Best-effort removal of a host link after a failed ADD. */
export function deleteHostLink(name: string): void {
  run(["ip", "link", "del", "dev", name], { check: false });
}
