import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { type Cidr, formatCidr, overlaps, parseIp } from "../../shared/net/ip.js";
import type { AddrInfo } from "../../shared/net/ip-json.js";

export interface AddrPlan {
  del: string[];
  add: string[];
  notes: string[];
}

/**
 * upstream's ensureAddr, planned: an exact address is kept; IPv4 allows no other address, IPv6 no
 * overlapping one. A conflict is replaced with forceAddress, or automatically when no pod is attached
 * to the bridge any more (the node's pod subnet changed); otherwise it is the well-known dead end,
 * whose text we keep and explain.
 */
export function planBridgeAddrs(
  iface: string,
  existing: readonly AddrInfo[],
  wanted: readonly Cidr[],
  opts: { forceAddress: boolean; portsAttached: () => number },
): AddrPlan {
  const plan: AddrPlan = { del: [], add: [], notes: [] };
  const current = existing
    .map((a) => {
      const ip = parseIp(a.local);
      return ip ? { family: ip.family, addr: ip.addr, prefix: a.prefixlen } : undefined;
    })
    .filter((c): c is Cidr => c !== undefined);
  for (const gw of wanted) {
    const text = formatCidr(gw);
    if (current.some((c) => c.family === gw.family && formatCidr(c) === text)) continue;
    const conflicts = current.filter((c) => c.family === gw.family && (gw.family === 4 || overlaps(c, gw)));
    if (conflicts.length > 0) {
      const found = conflicts.map(formatCidr).join(", ");
      const attached = opts.forceAddress ? 0 : opts.portsAttached();
      if (attached > 0) {
        throw new CniError(
          ErrorCode.Internal,
          `failed to set bridge addr: "${iface}" already has an IP address different from ${text} (it has ${found}; ${attached} interface(s) still attached)`,
          `the node's pod subnet changed (for example a new flannel lease) while pods on the old subnet still use "${iface}". ` +
            `Drain the node's pods (the address is then replaced automatically), set "forceAddress": true to replace it now, or restore the old subnet.`,
        );
      }
      const why = opts.forceAddress ? "forceAddress is set" : `no interface is attached to "${iface}" any more`;
      plan.notes.push(`bridge: replacing ${found} on "${iface}" with ${text} (${why})`);
      for (const c of conflicts) {
        plan.del.push(formatCidr(c));
        current.splice(current.indexOf(c), 1);
      }
    }
    plan.add.push(text);
    current.push(gw);
  }
  return plan;
}
