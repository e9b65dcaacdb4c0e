/**
 * The state CNI left on the node, against the leak definition: leaked reservations, saved flannel
 * configs and cached results without a reservation (the leftovers gc also finds), reservations of
 * live pods without their saved flannel config, and masquerade / hostPort rules naming a
 * container that holds nothing on this node any more.
 */
import { join } from "node:path";
import { listReservations } from "../../../ipam/host-local/leaks.js";
import { SavedConfigStore, savedName } from "../../../plugins/flannel/saved-config-store.js";
import type { NatRule } from "../nat-rules.js";
import type { GcPlan } from "../gc-plan.js";
import type { NodeConfig } from "../node-config.js";
import { type Finding, info, shellArg, warning } from "./finding.js";

export function checkState(config: NodeConfig, plan: GcPlan, rules: readonly NatRule[]): Finding[] {
  const findings: Finding[] = [];
  const flags = `--conf-dir ${shellArg(config.paths.confDir)} --bin-dir ${shellArg(config.paths.binDir)} --cache-dir ${shellArg(config.paths.cacheDir)}`;
  const gcFix = (net: string) => `cni-ts gc --apply --network ${shellArg(net)} ${flags}`;
  if (plan.scan.failures.length > 0) {
    findings.push(
      warning(
        "state",
        `the network namespace scan was incomplete (${plan.scan.failures[0]}): leaks cannot be told apart from pods`,
        "run doctor as root in the node's network namespace",
      ),
    );
  }
  for (const n of plan.networks) {
    findings.push(
      info(
        "state",
        `network ${n.network.name}: ${n.reservations} reservations in ${n.storeDir}, ${n.held} in use, ${n.young} recent, ${n.leaked} leaked (${plan.scan.namespaces} network namespaces scanned)`,
      ),
    );
  }
  for (const l of plan.leaked) {
    const who = l.owner ? `${l.owner.containerId}${l.owner.ifname ? `/${l.owner.ifname}` : ""}` : "no owner";
    const age = Math.round(Math.min(...l.reservations.map((r) => plan.scan.startedAt - r.mtimeMs)) / 1000);
    findings.push(
      warning(
        "state",
        `leaked reservation ${l.reservations.map((r) => r.address).join(" ")} in network ${l.network.name} (${who}): in no network namespace, reserved ${age} s ago`,
        gcFix(l.network.name),
      ),
    );
  }
  for (const l of plan.leftovers) {
    const who = `${l.owner.containerId}/${l.owner.ifname}`;
    if (l.savedConfig)
      findings.push(
        warning(
          "state",
          `saved flannel config ${l.savedConfig} has no reservation (${who}, network ${l.network.name})`,
          gcFix(l.network.name),
        ),
      );
    if (l.cached)
      findings.push(
        warning(
          "state",
          `cached result ${l.cached.file} has no reservation (${who}, network ${l.network.name})`,
          gcFix(l.network.name),
        ),
      );
  }
  // Live reservations of flannel networks without their saved config: DEL falls back to subnet.env.
  const leakedAddrs = new Set(plan.leaked.flatMap((l) => l.reservations.map((r) => `${l.storeDir}\n${r.address}`)));
  const holders = new Set<string>();
  for (const n of plan.networks) {
    for (const r of listReservations(n.storeDir)) {
      if (!r.owner) continue;
      holders.add(`${n.network.name}\n${r.owner.containerId}`);
      if (!n.network.flannel || leakedAddrs.has(`${n.storeDir}\n${r.address}`)) continue;
      // load() also finds the Go plugin's file, named by the container alone, for other interfaces.
      if (
        new SavedConfigStore(n.network.flannel.dataDir).load(
          r.owner.containerId,
          r.owner.ifname ?? "eth0",
          n.network.name,
        )
      )
        continue;
      findings.push(
        warning(
          "state",
          `reservation ${r.address} (${r.owner.containerId}) in network ${n.network.name} has no saved flannel config ${join(n.network.flannel.dataDir, savedName(r.owner.containerId, r.owner.ifname ?? "eth0"))}`,
          "nothing to run while subnet.env is unchanged: the pod's DEL rebuilds the config from subnet.env; if the file was deleted by hand, restore it from a backup",
        ),
      );
    }
  }
  const ours = new Set(plan.networks.map((n) => n.network.name));
  const withPortmap = plan.networks.find((n) => n.network.plugins.some((p) => p.type === "portmap"))?.network.name;
  const holdsAny = (cid: string) => [...holders].some((h) => h.endsWith(`\n${cid}`));
  for (const rule of rules) {
    // portmap's nftables rules name no network: stale when the container holds nothing anywhere.
    const network = rule.network === "" ? withPortmap : rule.network;
    if (network === undefined || !ours.has(network)) continue;
    if (rule.network === "" ? holdsAny(rule.containerId) : holders.has(`${network}\n${rule.containerId}`)) continue;
    const what =
      rule.kind === "masquerade"
        ? "masquerade rules"
        : rule.network === ""
          ? "hostPort rules (nftables)"
          : "CNI-HOSTPORT rules";
    findings.push(
      warning(
        "state",
        `${what} of network ${network} name container ${rule.containerId}, which holds no reservation on this node`,
        gcFix(network),
      ),
    );
  }
  return findings;
}
