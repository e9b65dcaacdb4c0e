import type { Invocation } from "../../shared/cni/plugin.js";
import type { Dns, Interface, Result } from "../../shared/cni/result.js";
import type { LinkInfo } from "../../shared/net/ip-json.js";
import type { BridgeConf } from "./config.js";
import type { Gateways } from "./gateways.js";

export interface ResultParts {
  inv: Invocation;
  conf: BridgeConf;
  veth: string;
  vlanGwIface: string | undefined;
  pod: LinkInfo;
  gws: Gateways;
  ipamDns: Dns;
  hostLinks: Map<string, { address: string }>;
}

/**
 * upstream's result: interfaces bridge, host veth, pod interface (with its sandbox) and the VLAN
 * gateway interface when one is used; IPs point at the pod interface; DNS from the config replaces
 * IPAM's when set. The dispatcher prints it in the config's version.
 */
export function assembleResult(p: ResultParts): Result {
  const mac = (name: string) => p.hostLinks.get(name)?.address;
  const withMac = (name: string): Interface => {
    const m = mac(name);
    return m ? { name, mac: m } : { name };
  };
  const interfaces: Interface[] = [
    withMac(p.conf.bridge),
    withMac(p.veth),
    { name: p.inv.env.ifname, mac: p.pod.address, sandbox: p.inv.env.netns },
  ];
  if (p.vlanGwIface) interfaces.push(withMac(p.vlanGwIface));
  return {
    cniVersion: p.inv.cniVersion,
    interfaces,
    ips: p.gws.ips,
    routes: p.gws.routes,
    dns: p.conf.dns ?? p.ipamDns,
  };
}
