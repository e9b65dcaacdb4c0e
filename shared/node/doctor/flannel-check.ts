/**
 * flannel's side of the node: subnet.env present and well-formed, the bridge's address and MTU
 * against it, flanneld's VXLAN device, and (where portmap serves localhost) route_localnet on the
 * bridge. Looked at in the namespace doctor runs in.
 */
import { loadSubnetEnv } from "../../../plugins/flannel/subnet-env.js";
import { parseLink } from "../../net/ip-json.js";
import { run } from "../../net/process.js";
import { firstHost, formatCidr, parseCidr } from "../../net/ip.js";
import { readSysctl } from "../../net/sysctl.js";
import type { NodeConfig, NodeNetwork } from "../node-config.js";
import { type Finding, error, info, shellArg, warning } from "./finding.js";

export const VXLAN_DEVICE = "flannel.1";

interface LinkInfo {
  mtu: number;
  addresses: string[];
}

function linkInfo(name: string): LinkInfo | undefined {
  const r = run(["ip", "-j", "addr", "show", "dev", name], { check: false });
  if (r.status !== 0) return undefined;
  const [raw] = JSON.parse(r.stdout || "[]") as unknown[];
  if (!raw) return undefined;
  const link = parseLink(raw);
  return { mtu: link.mtu, addresses: link.addrs.filter((a) => a.family === 4).map((a) => `${a.local}/${a.prefixlen}`) };
}

/** The bridge's address for a node subnet: its first address (host-local's default gateway). */
function gatewayOf(subnet: string | undefined): string | undefined {
  const c = subnet === undefined ? undefined : parseCidr(subnet);
  return c && c.family === 4 ? formatCidr(firstHost(c)) : undefined;
}

export function bridgeOf(net: NodeNetwork): string {
  const p = net.plugins.find((x) => x.type === "flannel");
  const d = p && typeof p.delegate === "object" && p.delegate !== null ? (p.delegate as Record<string, unknown>) : {};
  return typeof d.bridge === "string" && d.bridge !== "" ? d.bridge : "cni0";
}

/** The cluster networks of the flannel networks whose subnet.env is readable (the kernel check needs them). */
export function clusterNetworks(config: NodeConfig): string[] {
  const out = new Set<string>();
  for (const net of config.networks) {
    if (!net.flannel) continue;
    try {
      for (const n of loadSubnetEnv(net.flannel.subnetFile).networks) out.add(n);
    } catch {
      // reported by checkFlannel
    }
  }
  return [...out];
}

export function checkFlannel(config: NodeConfig, hostPortsInUse: boolean): Finding[] {
  const findings: Finding[] = [];
  const flannelNets = config.networks.filter((n) => n.flannel);
  for (const net of flannelNets) {
    const file = net.flannel!.subnetFile;
    let env;
    try {
      env = loadSubnetEnv(file);
    } catch (e) {
      findings.push(
        error(
          "flannel",
          `network ${net.name}: ${(e as Error).message}`,
          `check that flanneld runs on this node and writes ${shellArg(file)}`,
        ),
      );
      continue;
    }
    findings.push(
      info(
        "flannel",
        `${file}: subnet ${env.subnet ?? env.ipv6Subnet}, network ${[...env.networks, ...env.ipv6Networks].join(",")}, MTU ${env.mtu}`,
      ),
    );
    const bridge = bridgeOf(net);
    const link = linkInfo(bridge);
    if (!link) {
      findings.push(info("flannel", `${bridge} does not exist yet: the first pod's ADD creates it`));
    } else {
      const gateway = gatewayOf(env.subnet);
      if (gateway && link.addresses.length > 0 && !link.addresses.includes(gateway)) {
        findings.push(
          error(
            "flannel",
            `${bridge} has ${link.addresses.join(", ")} but subnet.env's FLANNEL_SUBNET ${env.subnet} makes it ${gateway}: pods get addresses the bridge does not route (the node's lease changed)`,
            `drain the node's pods, then: ip link delete ${shellArg(bridge)}  (the next ADD recreates it; cni-ts bridge also replaces it by itself once no pod is attached)`,
          ),
        );
      }
      if (link.mtu !== env.mtu) {
        findings.push(
          warning(
            "flannel",
            `${bridge} has MTU ${link.mtu}, subnet.env says ${env.mtu}`,
            `ip link set ${shellArg(bridge)} mtu ${env.mtu}`,
          ),
        );
      }
      const rl = readSysctl(`net/ipv4/conf/${bridge}/route_localnet`);
      if (hostPortsInUse && rl === "0") {
        findings.push(
          warning(
            "kernel",
            `hostPorts are mapped but route_localnet is off on ${bridge}: connections to localhost:hostPort fail`,
            `sysctl -w net.ipv4.conf.${bridge}.route_localnet=1`,
          ),
        );
      }
    }
  }
  if (flannelNets.length > 0 && !linkInfo(VXLAN_DEVICE)) {
    findings.push(
      warning(
        "flannel",
        `${VXLAN_DEVICE} is missing: with the vxlan backend pods cannot reach other nodes (fine with host-gw)`,
        "check flanneld's log and restart it (kubectl -n kube-flannel delete pod on this node)",
      ),
    );
  }
  return findings;
}
