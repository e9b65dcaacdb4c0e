/**
 * `cni-ts metrics`: the node's address pools and attachments in Prometheus text format, for
 * node_exporter's textfile collector. Per network (from the conf dir): range size, allocated and
 * leaked addresses per family (host-local's store); per network the cached attachments by
 * whether their pod namespace is live. Reads only; acts in the network namespace it runs in.
 */
import { writeAll } from "../sys/write-all.js";
import { liveness, readCachedAttachments } from "./cached-attachments.js";
import type { NodeCommand } from "./index.js";
import { type MetricFamily, exposition } from "./metrics/exposition.js";
import { holderIndex, isLeaked } from "./metrics/leaked-fallback.js";
import { type FamilyLabel, networkPools, reservations } from "./metrics/network-pools.js";
import { PATH_FLAGS_USAGE, withNodePaths } from "./node-paths.js";

const USAGE = `usage: cni-ts metrics [--conf-dir DIR] [--cache-dir DIR]
Prints the node's address pool and attachment figures in Prometheus text format.
${PATH_FLAGS_USAGE}`;

export async function nodeMetrics(confDir: string, cacheDir: string): Promise<MetricFamily[]> {
  const attachments = readCachedAttachments(cacheDir, confDir).map((a) => ({ ...a, liveness: liveness(a) }));
  const holders = holderIndex(attachments);
  const { pools, problems } = await networkPools(confDir);
  const size: MetricFamily = { name: "cni_ts_ipam_range_size", type: "gauge", help: "Addresses host-local can hand out in the network's ranges (gateways excluded).", samples: [] };
  const allocated: MetricFamily = { name: "cni_ts_ipam_allocated", type: "gauge", help: "Addresses reserved in host-local's store.", samples: [] };
  const leaked: MetricFamily = {
    name: "cni_ts_ipam_leaked",
    type: "gauge",
    help: "Reserved addresses that no live pod namespace holds (no cached attachment, or its namespace is gone); cni-ts gc or the runtime's GC frees them.",
    samples: [],
  };
  for (const pool of pools) {
    const stored = reservations(pool.dir);
    for (const family of ["ipv4", "ipv6"] as FamilyLabel[]) {
      const total = pool.size[family];
      if (total === undefined) continue;
      const mine = stored.filter((r) => r.family === family);
      const labels = { network: pool.network, family };
      size.samples.push({ labels, value: total });
      allocated.samples.push({ labels, value: mine.length });
      leaked.samples.push({ labels, value: mine.filter((r) => isLeaked(pool.network, r.content, holders)).length });
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
  return [size, allocated, leaked, attached, errors];
}

export const command: NodeCommand = {
  summary: "print the node's address pool and attachment figures in Prometheus text format",
  run: (args) =>
    withNodePaths("metrics", USAGE, args, async ({ confDir, cacheDir }) => {
      writeAll(1, exposition(await nodeMetrics(confDir, cacheDir)));
      return 0;
    }),
};
