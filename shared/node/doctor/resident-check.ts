/**
 * Whether a resident service (`cni-ts serve`) serves this node's plugin calls: asked with a probe
 * that runs nothing. No service is fine (each plugin process runs its call); a service that
 * declines this node's calls (another build after an upgrade, another namespace) or a socket
 * nobody answers on costs every pod start its speed-up.
 */
import { createConnection } from "node:net";
import { existsSync } from "node:fs";
import type { ResidentCounts } from "../../resident/protocol.js";
import { type Finding, info, shellArg, warning } from "./finding.js";

export type ProbeAnswer =
  ({ status: "ready"; build: string } & ResidentCounts) | { status: "declined"; reason: string } | { status: "none" };

/** Asks the service at `socket` whether it would serve this process's calls; "none" when nothing answers. */
export async function probeResident(socket: string): Promise<ProbeAnswer> {
  if (!existsSync(socket) || !("Bun" in globalThis)) return { status: "none" };
  const { bunApi, namespaces, requestFor } = await import("../../resident/client.js");
  const request = { ...requestFor("loopback", {}, Buffer.alloc(0), await namespaces(bunApi())), probe: true };
  return new Promise((resolve) => {
    let got = "";
    const c = createConnection(socket);
    const timer = setTimeout(() => c.destroy(new Error("no answer in 5 s")), 5000);
    c.on("connect", () => c.write(`${JSON.stringify(request)}\n`));
    c.on("data", (d) => (got += d.toString()));
    c.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(got.split("\n")[0]!) as ProbeAnswer);
      } catch {
        resolve({ status: "none" });
      }
    });
    c.on("error", () => undefined);
  });
}

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
