import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { IpConfig, Route } from "../../shared/cni/result.js";
import { type Cidr, type Family, firstHost, formatIp, parseCidr, parseIp } from "../../shared/net/ip.js";

/** Index of the pod interface in the bridge result's interfaces (bridge, host veth, pod). */
export const POD_INTERFACE_INDEX = 2;

export interface Gateways {
  ips: IpConfig[];
  routes: Route[];
  /** Addresses to put on the bridge (gateway/prefix of each pod address), per family, in order. */
  bridgeAddrs: Record<Family, Cidr[]>;
}

/**
 * upstream's calcGateways: every IP gets interface 2; with isGateway a missing gateway becomes the
 * subnet's first address; with isDefaultGateway a default route via it is appended once per family
 * unless IPAM already gave one with a gateway.
 */
export function calcGateways(
  ips: readonly IpConfig[],
  routes: readonly Route[],
  opts: { isGateway: boolean; isDefaultGateway: boolean },
): Gateways {
  const out: Gateways = { ips: [], routes: routes.map((r) => ({ ...r })), bridgeAddrs: { 4: [], 6: [] } };
  const defaultDone: Record<Family, boolean> = { 4: false, 6: false };
  for (const ip of ips) {
    const addr = parseCidr(ip.address);
    if (!addr) throw new CniError(ErrorCode.Internal, `IPAM returned an invalid address "${ip.address}"`);
    const family = addr.family;
    let gateway = ip.gateway;
    if (gateway === undefined && opts.isGateway) gateway = formatIp(firstHost(addr));
    out.ips.push({ ...ip, interface: POD_INTERFACE_INDEX, ...(gateway !== undefined ? { gateway } : {}) });
    if (opts.isDefaultGateway && !defaultDone[family]) {
      const found = out.routes.some((r) => r.gw !== undefined && r.gw !== "" && isDefaultDst(r.dst, family));
      if (!found && gateway !== undefined) out.routes.push({ dst: family === 4 ? "0.0.0.0/0" : "::/0", gw: gateway });
      defaultDone[family] = true;
    }
    if (opts.isGateway && gateway !== undefined) {
      const gw = parseIp(gateway);
      if (!gw || gw.family !== family) {
        throw new CniError(
          ErrorCode.Internal,
          `IPAM returned gateway "${gateway}" that does not match address ${ip.address}`,
        );
      }
      out.bridgeAddrs[family].push({ family, addr: gw.addr, prefix: addr.prefix });
    }
  }
  return out;
}

function isDefaultDst(dst: string, family: Family): boolean {
  const c = parseCidr(dst);
  return !!c && c.family === family && c.prefix === 0 && c.addr === 0n;
}
