import type { IpStep } from "../../shared/net/exec.js";
import type { IpConfig, Route } from "../../shared/cni/result.js";
import { familyOf } from "../../shared/net/ip.js";

/** sysctls of the pod interface, in the order upstream writes them (IPv6 enabled before v6 addresses). */
export function podSysctls(ifname: string, ips: readonly IpConfig[], enabledad: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (ips.some((ip) => familyOf(ip.address) === 6)) {
    out.push(
      ["net/ipv6/conf/lo/disable_ipv6", "0"],
      [`net/ipv6/conf/${ifname}/disable_ipv6`, "0"],
      [`net/ipv6/conf/${ifname}/keep_addr_on_down`, "1"],
    );
  }
  if (enabledad) out.push([`net/ipv6/conf/${ifname}/enhanced_dad`, "1"], [`net/ipv6/conf/${ifname}/accept_dad`, "1"]);
  else out.push([`net/ipv6/conf/${ifname}/accept_dad`, "0"]);
  out.push([`net/ipv4/conf/${ifname}/arp_notify`, "1"]);
  return out;
}

/**
 * The pod-namespace `ip -batch` (upstream's ConfigureIface): addresses, link up, routes in result
 * order (appended, as RouteAddEcmp does; a route without gw goes via its family's first gateway),
 * then a `link show` for the interface MAC.
 */
export function planPod(ifname: string, ips: readonly IpConfig[], routes: readonly Route[], up: boolean): IpStep[] {
  const steps: IpStep[] = ips.map((ip) => ({ line: `addr add ${ip.address} dev ${ifname}` }));
  if (up) steps.push({ line: `link set ${ifname} up` });
  const firstGw: Record<4 | 6, string | undefined> = { 4: undefined, 6: undefined };
  for (const ip of ips) {
    const f = familyOf(ip.address);
    if (ip.gateway && firstGw[f] === undefined) firstGw[f] = ip.gateway;
  }
  for (const r of routes) steps.push({ line: routeLine(r, ifname, firstGw[familyOf(r.dst)]) });
  steps.push({ line: `link show dev ${ifname}` });
  return steps;
}

export function routeLine(r: Route, ifname: string, familyGw: string | undefined): string {
  const gw = r.gw || familyGw;
  let line = `route append ${r.dst}`;
  if (gw) line += ` via ${gw}`;
  line += ` dev ${ifname}`;
  if (r.priority) line += ` metric ${r.priority}`;
  if (r.table) line += ` table ${r.table}`;
  if (r.scope !== undefined) line += ` scope ${r.scope}`;
  if (r.mtu) line += ` mtu ${r.mtu}`;
  if (r.advmss) line += ` advmss ${r.advmss}`;
  return line;
}
