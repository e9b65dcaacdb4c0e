import { delegate } from "../../shared/cni/delegate.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import { canonical, familyOf } from "../../shared/net/ip.js";
import type { LinkInfo, RouteInfo } from "../../shared/net/ip-json.js";
import { kernel } from "../../shared/net/kernel.js";
import { ownLinkNames } from "../../shared/net/links.js";
import { requireNetns } from "../../shared/net/netns.js";
import { type BridgeConf, loadBridgeConf } from "./config.js";

/**
 * CHECK compares the pod interface (kind, MAC, MTU, state, addresses, routes), the host port
 * (hairpin, isolation, MTU) and the bridge (kind, MAC, MTU, promisc) with prevResult and the
 * config, and lists every difference. Layer-2 configs (no IPAM) are checked too.
 */
export async function check(inv: Invocation): Promise<void> {
  const conf = loadBridgeConf(inv);
  const { netns, ifname } = inv.env;
  requireNetns(netns);
  if (conf.ipamType !== "") await delegate(inv, conf.ipamType, "CHECK", inv.stdin);
  const prev = inv.prevResult();
  if (!prev)
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "Required prevResult missing",
      "CHECK needs the ADD result as prevResult",
    );
  const podEntry = prev.interfaces.find((i) => i.name === ifname);
  if (podEntry?.sandbox !== undefined && podEntry.sandbox !== netns) {
    throw new CniError(
      ErrorCode.Internal,
      `Sandbox in prevResult ${podEntry.sandbox} doesn't match configured netns: ${netns}`,
    );
  }
  const pod = inspectPod(netns, ifname);
  const host = inspectHost(conf.bridge, pod.link?.linkIndex);
  const diffs = compare(conf, prev, host, pod, ifname);
  if (diffs.length > 0) {
    throw new CniError(
      ErrorCode.Internal,
      diffs.join("; "),
      `${diffs.length} difference(s) between prevResult/config and the node`,
    );
  }
}

interface HostView {
  bridge: LinkInfo | undefined;
  /** The host end of the pod's veth, when it is a port of the bridge. */
  port: LinkInfo | undefined;
}

interface PodView {
  link: LinkInfo | undefined;
  routes: RouteInfo[];
}

/** The bridge and the pod veth's host end (its peer index, read in the pod): one port, not all of them. */
function inspectHost(bridge: string, peerIndex: number | undefined): HostView {
  if (!ownLinkNames().has(bridge)) return { bridge: undefined, port: undefined };
  const what = "failed to inspect the bridge";
  if (!peerIndex) return { bridge: kernel([], [{ q: "link", dev: bridge }], { what })[0], port: undefined };
  const [link, port] = kernel(
    [],
    [
      { q: "link", dev: bridge },
      { q: "port", master: bridge, index: peerIndex },
    ],
    { what },
  );
  return { bridge: link, port };
}

function inspectPod(netns: string, ifname: string): PodView {
  try {
    const [link, routes] = kernel(
      [],
      [
        { q: "addrs", dev: ifname },
        { q: "routes", dev: ifname },
      ],
      { netns },
    );
    return { link, routes: link ? routes : [] };
  } catch {
    return { link: undefined, routes: [] };
  }
}

/** Every difference, as upstream words it where upstream checks it. Pure, for unit tests. */
export function compare(conf: BridgeConf, prev: Result, host: HostView, pod: PodView, ifname: string): string[] {
  const diffs: string[] = [];
  const br = conf.bridge;
  const prevBridge = prev.interfaces.find((i) => i.name === br);
  if (!host.bridge) return [`CNI created bridge ${br} in host namespace was not found`];
  if (host.bridge.kind !== "bridge") diffs.push(`${br} is not a bridge (it is ${host.bridge.kind || "another kind"})`);
  if (prevBridge?.mac && prevBridge.mac !== host.bridge.address) {
    diffs.push(`bridge ${br} has MAC ${host.bridge.address}, prevResult says ${prevBridge.mac}`);
  }
  if (conf.promiscMode && !host.bridge.promisc)
    diffs.push(`bridge ${br} is not in promiscuous mode (promiscMode is set)`);
  if (conf.mtu > 0 && host.bridge.mtu !== conf.mtu)
    diffs.push(`bridge ${br} has MTU ${host.bridge.mtu}, config says ${conf.mtu}`);

  const link = pod.link;
  if (!link) return [...diffs, `CNI created interface in container ${ifname} not found`];
  const prevPod = prev.interfaces.find((i) => i.name === ifname);
  if (link.kind !== "veth") diffs.push(`${ifname} is a ${link.kind || "non-veth"} link, not a veth`);
  if (prevPod?.mac && prevPod.mac !== link.address)
    diffs.push(`${ifname} has MAC ${link.address}, prevResult says ${prevPod.mac}`);
  if (conf.mac && conf.mac !== link.address)
    diffs.push(`${ifname} has MAC ${link.address}, config asks for ${conf.mac}`);
  if (conf.mtu > 0 && link.mtu !== conf.mtu) diffs.push(`${ifname} has MTU ${link.mtu}, config says ${conf.mtu}`);
  if (!conf.disableContainerInterface && !link.flags.includes("UP")) diffs.push(`${ifname} is down`);

  const port = host.port;
  if (!port) diffs.push(`CNI veth created for bridge ${br} was not found`);
  else {
    const prevHost = prev.interfaces.find((i) => !i.sandbox && i.name !== br && i.name !== ifname);
    if (prevHost && prevHost.name !== port.ifname)
      diffs.push(`host veth is ${port.ifname}, prevResult says ${prevHost.name}`);
    if (port.port && port.port.hairpin !== conf.hairpinMode) {
      diffs.push(
        `hairpin is ${port.port.hairpin ? "on" : "off"} on ${port.ifname}, config says hairpinMode ${conf.hairpinMode}`,
      );
    }
    if (port.port && port.port.isolated !== conf.portIsolation) {
      diffs.push(
        `port isolation is ${port.port.isolated ? "on" : "off"} on ${port.ifname}, config says portIsolation ${conf.portIsolation}`,
      );
    }
    if (conf.mtu > 0 && port.mtu !== conf.mtu)
      diffs.push(`${port.ifname} has MTU ${port.mtu}, config says ${conf.mtu}`);
  }

  const have = new Set(link.addrs.map((a) => canonical(`${a.local}/${a.prefixlen}`)));
  for (const ip of prev.ips) {
    if (ip.interface !== undefined && prev.interfaces[ip.interface]?.name !== ifname) continue;
    if (!have.has(canonical(ip.address))) diffs.push(`Failed to match addr ${ip.address} on interface ${ifname}`);
  }
  for (const r of prev.routes) {
    const want = canonical(r.dst);
    const found = pod.routes.some(
      (x) => routeDst(x) === want && (!r.gw || (x.gateway !== undefined && canonical(x.gateway) === canonical(r.gw))),
    );
    if (!found) diffs.push(`Expected Route ${r.dst}${r.gw ? ` via ${r.gw}` : ""} not found in routing table`);
  }
  return diffs;
}

function routeDst(r: RouteInfo): string {
  if (r.dst === "default") return r.family === 4 ? "0.0.0.0/0" : "::/0";
  if (!r.dst.includes("/")) return canonical(`${r.dst}/${familyOf(r.dst) === 4 ? 32 : 128}`);
  return canonical(r.dst);
}
