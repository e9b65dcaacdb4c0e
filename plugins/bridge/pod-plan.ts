import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { ipLine, type KernelOp, type KernelStep } from "../../shared/net/kernel.js";
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
 * The pod-namespace steps (upstream's ConfigureIface): addresses, link up, routes in result order
 * (appended, as RouteAddEcmp does; a route without gw goes via its family's first gateway), each
 * with upstream's message.
 */
export function planPod(ifname: string, ips: readonly IpConfig[], routes: readonly Route[], up: boolean): KernelStep[] {
  const fail = (msg: string) => new CniError(ErrorCode.Internal, msg);
  const steps: KernelStep[] = ips.map((ip) => ({
    op: { op: "addr-add", cidr: ip.address, dev: ifname },
    fail: (r) => fail(`failed to add IP addr ${ip.address} to "${ifname}": ${r}`),
  }));
  if (up)
    steps.push({
      op: { op: "link-set", dev: ifname, up: true },
      fail: (r) => fail(`failed to set "${ifname}" UP: ${r}`),
    });
  const firstGw: Record<4 | 6, string | undefined> = { 4: undefined, 6: undefined };
  for (const ip of ips) {
    const f = familyOf(ip.address);
    if (ip.gateway && firstGw[f] === undefined) firstGw[f] = ip.gateway;
  }
  for (const r of routes) {
    const op = routeOp(r, ifname, firstGw[familyOf(r.dst)]);
    steps.push({
      op,
      fail: (reason) => fail(`failed to add route '${ipLine(op).slice("route append ".length)}': ${reason}`),
    });
  }
  return steps;
}

export function routeOp(r: Route, ifname: string, familyGw: string | undefined): KernelOp {
  return {
    op: "route-append",
    dst: r.dst,
    gw: r.gw || familyGw || undefined,
    dev: ifname,
    metric: r.priority || undefined,
    table: r.table || undefined,
    scope: r.scope,
    mtu: r.mtu || undefined,
    advmss: r.advmss || undefined,
  };
}
