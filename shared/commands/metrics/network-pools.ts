/**
 * The node's address pools, from the network configs in the conf dir: for each network whose chain
 * uses host-local (directly, as bridge's ipam, or behind flannel, whose delegate takes its ranges
 * from subnet.env), where its store is and how many addresses its range sets can hand out.
 */
import { isPlainObject } from "../../sys/plain-object.js";
import { storeDir } from "../../../ipam/host-local/store.js";
import type { RangeSet } from "../../../ipam/host-local/range.js";
import { chainPlugins, confsByNetwork } from "../cached-attachments.js";

export type FamilyLabel = "ipv4" | "ipv6";

export interface NetworkPool {
  network: string;
  /** The host-local store directory (<dataDir>/<network>). */
  dir: string;
  /** Addresses host-local can hand out per family: range spans minus gateways inside them. */
  size: Partial<Record<FamilyLabel, bigint>>;
}

export interface PoolProblem {
  network: string;
  message: string;
}

/** Addresses a range set can hand out: each range's span, less its gateway when it lies inside. */
export function allocatable(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += r.end.addr - r.start.addr + 1n;
    if (r.gateway.family === r.start.family && r.gateway.addr >= r.start.addr && r.gateway.addr <= r.end.addr) n -= 1n;
  }
  return n;
}

/** The host-local config (whole plugin config with `ipam`) behind one plugin of a chain, if any. */
async function hostLocalConfig(
  type: string,
  raw: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  if (type === "flannel") {
    const { parseFlannelConfig } = await import("../../../plugins/flannel/config.js");
    const { loadSubnetEnv } = await import("../../../plugins/flannel/subnet-env.js");
    const { buildDelegateConfig } = await import("../../../plugins/flannel/delegate-config.js");
    const conf = parseFlannelConfig(raw, { checkDelegate: false });
    return buildDelegateConfig(conf, loadSubnetEnv(conf.subnetFile));
  }
  return isPlainObject(raw.ipam) && raw.ipam.type === "host-local" ? raw : undefined;
}

export async function networkPools(confDir: string): Promise<{ pools: NetworkPool[]; problems: PoolProblem[] }> {
  const pools: NetworkPool[] = [];
  const problems: PoolProblem[] = [];
  const { loadIpamConfig } = await import("../../../ipam/host-local/config.js");
  for (const [network, config] of confsByNetwork(confDir)) {
    for (const plugin of chainPlugins(config, {})) {
      try {
        const raw = await hostLocalConfig(plugin.type, plugin.raw);
        if (!raw) continue;
        const ipam = loadIpamConfig(raw, new Map());
        const size: NetworkPool["size"] = {};
        for (const set of ipam.rangeSets) {
          const family: FamilyLabel = set[0]?.start.family === 6 ? "ipv6" : "ipv4";
          size[family] = (size[family] ?? 0n) + allocatable(set);
        }
        pools.push({ network, dir: storeDir(ipam.dataDir, ipam.name || network), size });
      } catch (e) {
        problems.push({ network, message: (e as Error).message });
      }
      break;
    }
  }
  return { pools, problems };
}
