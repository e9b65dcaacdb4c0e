/**
 * Kernel settings pods need, in the namespace doctor runs in: IPv4 forwarding, bridged traffic
 * through iptables (br_netfilter, for Services), and a FORWARD chain that accepts pod traffic to
 * and from the cluster networks (the rules flanneld installs when the policy is DROP).
 */
import { run } from "../../net/process.js";
import { readSysctl } from "../../net/sysctl.js";
import { type Finding, error, info, shellArg, warning } from "./finding.js";

function filterTable(): string | undefined {
  try {
    const r = run(["iptables-save", "-t", "filter"], { check: false });
    return r.status === 0 ? r.stdout : undefined;
  } catch {
    return undefined;
  }
}

function accepts(table: string, flag: "-s" | "-d", net: string): boolean {
  return table.split("\n").some((l) => l.startsWith("-A ") && l.includes(` ${flag} ${net} `) && / -j ACCEPT\b/.test(l));
}

export function checkKernel(clusterNetworks: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  const fwd = readSysctl("net/ipv4/ip_forward");
  if (fwd !== "1") {
    findings.push(
      error(
        "kernel",
        `net.ipv4.ip_forward is ${fwd ?? "unreadable"}: pods cannot reach anything beyond the node`,
        "sysctl -w net.ipv4.ip_forward=1  (and set it in /etc/sysctl.d)",
      ),
    );
  }
  const nf = readSysctl("net/bridge/bridge-nf-call-iptables");
  if (nf === undefined) {
    findings.push(
      warning(
        "kernel",
        "br_netfilter is not loaded: bridged pod traffic bypasses iptables, so Service addresses do not work between pods on this node",
        "modprobe br_netfilter  (and list it in /etc/modules-load.d)",
      ),
    );
  } else if (nf !== "1") {
    findings.push(
      warning(
        "kernel",
        "net.bridge.bridge-nf-call-iptables is 0: Service addresses do not work between pods on this node",
        "sysctl -w net.bridge.bridge-nf-call-iptables=1",
      ),
    );
  }
  const table = filterTable();
  if (table === undefined) {
    findings.push(info("kernel", "iptables-save is not available: the FORWARD chain was not checked"));
    return findings;
  }
  const policy = /^:FORWARD (\S+)/m.exec(table)?.[1] ?? "ACCEPT";
  if (policy === "ACCEPT") return findings;
  for (const net of clusterNetworks) {
    const missing = (["-s", "-d"] as const).filter((f) => !accepts(table, f, net));
    if (missing.length === 0) continue;
    findings.push(
      error(
        "kernel",
        `the FORWARD policy is ${policy} and nothing accepts pod traffic ${missing.map((f) => (f === "-s" ? "from" : "to")).join(" or ")} ${net}: pods cannot reach other nodes`,
        missing.map((f) => `iptables -A FORWARD ${f} ${shellArg(net)} -j ACCEPT`).join(" && "),
      ),
    );
  }
  return findings;
}
