/**
 * Each configuration in the configuration directory: its plugins and cniVersion, and therefore
 * whether the runtime sends GC and STATUS (only from 1.1.0 on), plus the files it cannot use.
 */
import type { NodeConfig } from "../node-config.js";
import { type Finding, error, info, shellArg } from "./finding.js";

function atLeast110(v: string): boolean {
  const [a = 0, b = 0] = v.split(".").map(Number);
  return a > 1 || (a === 1 && b >= 1);
}

export function checkConfigs(config: NodeConfig): Finding[] {
  const findings: Finding[] = [];
  for (const p of config.problems) {
    findings.push(error("config", `${p.file} cannot be used: ${p.problem}`, `fix or remove ${shellArg(p.file)}`));
  }
  if (config.networks.length === 0) {
    findings.push(
      error(
        "config",
        `no network configuration in ${config.paths.confDir}: the runtime cannot network any pod`,
        "start flanneld's kube-flannel DaemonSet (it installs 10-flannel.conflist) or write a conflist there",
      ),
    );
  }
  const seen = new Set<string>();
  for (const net of config.networks) {
    const gc = atLeast110(net.cniVersion)
      ? "GC and STATUS on"
      : "GC and STATUS off (the runtime sends them only from 1.1.0; leaks are reclaimed by host-local when a range is full and by `cni-ts gc`)";
    const dup = seen.has(net.name) ? `; shadowed by an earlier file with the same name` : "";
    seen.add(net.name);
    findings.push(
      info(
        "config",
        `${net.file}: network ${net.name}, cniVersion ${net.cniVersion}, plugins ${net.plugins.map((p) => p.type).join(" -> ")}; ${gc}${dup}`,
      ),
    );
  }
  return findings;
}
