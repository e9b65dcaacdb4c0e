/**
 * `cni-ts metrics`: the node's address pools and attachments in Prometheus text format, for
 * node_exporter's textfile collector. Per network (from the conf dir): range size, allocated and
 * leaked addresses per family (host-local's store; leaked as `cni-ts gc` defines it, from one scan
 * of the node's namespaces), reclaimed addresses in total; per network the cached attachments by
 * whether their pod namespace is live. Reads only; acts in the network namespace it runs in.
 */
import { writeAll } from "../sys/write-all.js";
import { liveness, readCachedAttachments } from "./cached-attachments.js";
import type { NodeCommand } from "./index.js";
import { type MetricFamily, exposition } from "./metrics/exposition.js";
import { DEFAULT_GRACE_MS, judge, listReservations } from "../../ipam/host-local/leaks.js";
import { readReclaimedCount } from "../../ipam/host-local/reclaimed-count.js";
import { type HolderScan, isComplete, scanHolders } from "../node/netns-scan.js";
import { type FamilyLabel, networkPools } from "./metrics/network-pools.js";
import { PATH_FLAGS_HELP, withNodeFlags } from "./node-flags.js";
import { probeResident } from "../resident/client.js";
import { DEFAULT_SOCKET, residentSocket } from "../resident/protocol.js";

const USAGE = `usage: cni-ts metrics [--grace SECONDS] [--socket PATH] [--conf-dir DIR] [--cache-dir DIR]
Prints the node's address pool, attachment and resident service figures in Prometheus text format.
  --grace SECONDS   minimum age of a reservation no namespace holds to count as leaked
                    (default ${DEFAULT_GRACE_MS / 1000}, as cni-ts gc)
  --socket PATH     the resident service's socket (default: CNI_TS_SOCKET, else ${DEFAULT_SOCKET})
${PATH_FLAGS_HELP}
`;

export async function nodeMetrics(
  confDir: string,
  cacheDir: string,
  graceMs = DEFAULT_GRACE_MS,
  scan: HolderScan = scanHolders(),
): Promise<MetricFamily[]> {
  const attachments = readCachedAttachments(cacheDir, confDir).map((a) => ({ ...a, liveness: liveness(a) }));
  const { pools, problems } = await networkPools(confDir);
  const scanned = isComplete(scan);
  const size: MetricFamily = {
    name: "cni_ts_ipam_range_size",
    type: "gauge",
    help: "Addresses host-local can hand out in the network's ranges (gateways excluded).",
    samples: [],
  };
  const allocated: MetricFamily = {
    name: "cni_ts_ipam_allocated",
    type: "gauge",
    help: "Addresses reserved in host-local's store.",
    samples: [],
  };
  const leaked: MetricFamily = {
    name: "cni_ts_ipam_leaked",
    type: "gauge",
    help: "Reserved addresses no network namespace on the node holds, older than the grace period (cni-ts gc's definition); host-local reclaims them when its range is full, cni-ts gc --apply at once. Absent when the namespace scan was incomplete.",
    samples: [],
  };
  const reclaimed: MetricFamily = {
    name: "cni_ts_ipam_reclaimed_total",
    type: "counter",
    help: "Leaked reservations released so far (by host-local on a full range and by cni-ts gc --apply).",
    samples: [],
  };
  for (const pool of pools) {
    // One read of the store; each reservation judged by the leak definition against the one scan.
    const stored = listReservations(pool.dir).map((r) => ({ ...r, verdict: judge(r, scan, graceMs).kind }));
    reclaimed.samples.push({ labels: { network: pool.network }, value: readReclaimedCount(pool.dir) });
    for (const family of ["ipv4", "ipv6"] as FamilyLabel[]) {
      const total = pool.size[family];
      if (total === undefined) continue;
      const mine = stored.filter((r) => (r.address.includes(":") ? "ipv6" : "ipv4") === family);
      const labels = { network: pool.network, family };
      size.samples.push({ labels, value: total });
      allocated.samples.push({ labels, value: mine.length });
      if (scanned) leaked.samples.push({ labels, value: mine.filter((r) => r.verdict === "leaked").length });
    }
  }
  const byState = new Map<string, number>();
  for (const a of attachments) {
    const k = `${a.network}\u0000${a.liveness}`;
    byState.set(k, (byState.get(k) ?? 0) + 1);
  }
  const attached: MetricFamily = {
    name: "cni_ts_attachments",
    type: "gauge",
    help: "Attachments in libcni's result cache, by whether their pod network namespace exists (unknown: the result names none).",
    samples: [...byState].sort().map(([k, n]) => {
      const [network, state] = k.split("\u0000") as [string, string];
      return { labels: { network, state }, value: n };
    }),
  };
  const errors: MetricFamily = {
    name: "cni_ts_ipam_config_error",
    type: "gauge",
    help: "1 when the network's address pool could not be read (e.g. flannel's subnet.env missing); its figures are then absent.",
    samples: problems.map((p) => ({ labels: { network: p.network }, value: 1 })),
  };
  const scanComplete: MetricFamily = {
    name: "cni_ts_leak_scan_complete",
    type: "gauge",
    help: "1 when every network namespace on the node could be read (leaked figures present), else 0.",
    samples: [{ labels: {}, value: scanned ? 1 : 0 }],
  };
  return [size, allocated, leaked, reclaimed, attached, errors, scanComplete];
}

/** The resident service: whether it serves this node's calls, and its counters since it started. */
export async function residentMetrics(socket: string | undefined): Promise<MetricFamily[]> {
  const answer = socket ? await probeResident(socket) : { status: "none" as const };
  const up: MetricFamily = {
    name: "cni_ts_resident_up",
    type: "gauge",
    help: "1 when a resident service (cni-ts serve) serves this node's plugin calls, else 0 (none, another build or namespace, or not answering).",
    samples: [{ labels: {}, value: answer.status === "ready" ? 1 : 0 }],
  };
  if (answer.status !== "ready") return [up];
  const served: MetricFamily = {
    name: "cni_ts_resident_calls_served_total",
    type: "counter",
    help: "Plugin calls the resident service ran, since it started.",
    samples: [{ labels: {}, value: answer.served }],
  };
  const declined: MetricFamily = {
    name: "cni_ts_resident_calls_declined_total",
    type: "counter",
    help: "Plugin calls the resident service declined (the plugin ran them itself) since it started, by reason.",
    samples: Object.entries(answer.declined).map(([reason, n]) => ({ labels: { reason }, value: n ?? 0 })),
  };
  return [up, served, declined];
}

export const command: NodeCommand = {
  summary: "print the node's address pool, attachment and resident service figures in Prometheus text format",
  run: (args) =>
    withNodeFlags(
      "metrics",
      USAGE,
      args,
      { grace: { type: "string" }, socket: { type: "string" } },
      async ({ confDir, cacheDir }, { grace, socket }) => {
        const seconds = grace === undefined ? DEFAULT_GRACE_MS / 1000 : Number(grace);
        if (!Number.isFinite(seconds) || seconds < 0) {
          writeAll(2, `cni-ts metrics: --grace wants a number of seconds, got ${JSON.stringify(grace)}\n`);
          return 2;
        }
        const families = [
          ...(await nodeMetrics(confDir, cacheDir, seconds * 1000)),
          ...(await residentMetrics(socket ?? residentSocket(process.env))),
        ];
        writeAll(1, exposition(families));
        return 0;
      },
    ),
};
