import { haveBinary, run } from "../../shared/net/process.js";
import type { IfAddress } from "./address.js";
import type { PortMapping } from "./config.js";

/**
 * Deletes conntrack entries of UDP traffic to the new host ports, as upstream does after ADD: a
 * client that kept sending to hostPort before the mapping existed (DNS, syslog) would otherwise
 * stay pinned to its old entry and never reach the pod. Best effort: needs the `conntrack` tool
 * (kube-proxy nodes have it); returns what could not be done, for the trace.
 */
export function flushUdpConntrack(mappings: readonly PortMapping[], addrs: readonly IfAddress[]): string | undefined {
  const ports = [...new Set(mappings.filter((m) => m.protocol === "udp").map((m) => m.hostPort))];
  if (ports.length === 0) return undefined;
  if (!haveBinary("conntrack"))
    return "conntrack not installed; stale UDP conntrack entries to the host ports were not flushed";
  for (const addr of addrs) {
    for (const port of ports) {
      // Exit status 1 means "0 flow entries deleted": nothing stale.
      run(["conntrack", "-D", "-f", addr.family === 6 ? "ipv6" : "ipv4", "-p", "udp", "--dport", String(port)], {
        check: false,
      });
    }
  }
  return undefined;
}
