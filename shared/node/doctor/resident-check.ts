/**
 * Whether a resident service (`cni-ts serve`) serves this node's plugin calls: asked with a probe
 * that runs nothing. No service is fine (each plugin process runs its call); a service that
 * declines this node's calls (another build after an upgrade, another namespace) or a socket
 * nobody answers on costs every pod start its speed-up.
 */
import { existsSync } from "node:fs";
import { probeResident } from "../../resident/client.js";
import { type Finding, info, shellArg, warning } from "./finding.js";

export async function checkResident(socket: string): Promise<Finding[]> {
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return [];
  const restart = "systemctl restart cni-ts-resident  (or restart the pod that runs `cni-ts serve`)";
  if (!existsSync(socket))
    return [info("resident", `no resident service at ${socket}: each plugin process runs its own call`)];
  const answer = await probeResident(socket);
  if (answer.status === "ready")
    return [
      info("resident", `the resident service at ${socket} serves this node's plugin calls (build ${answer.build})`),
    ];
  if (answer.status === "declined")
    return [
      warning(
        "resident",
        `the resident service at ${socket} declines this node's plugin calls (${answer.reason}); each plugin process runs its own call, without the speed-up`,
        answer.reason.includes("namespace")
          ? "run `cni-ts serve` in the node's network and mount namespace (nsenter -t 1 -m -n in a pod)"
          : restart,
      ),
    ];
  return [
    warning(
      "resident",
      `nothing answers on ${socket} (a service that died?); plugins try it on every call, then run the call themselves`,
      `${restart}, or rm ${shellArg(socket)}`,
    ),
  ];
}
