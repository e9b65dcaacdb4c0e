import { buildDelegateConfig, buildReleaseConfig, type DelegateConfig } from "./delegate-config.js";
import type { FlannelConfig } from "./config.js";
import type { SavedConfigStore } from "./saved-config-store.js";
import { loadSubnetEnv, SubnetEnvError } from "./subnet-env.js";

/** Where a delegate config came from when the attachment's own saved config was not usable. */
export type FallbackSource = "subnet.env" | "saved" | "defaults";

export interface Fallback {
  config: DelegateConfig;
  source: FallbackSource;
  /** Why subnet.env was not used (for the note), when it was not. */
  subnetEnvError?: SubnetEnvError;
  /** The saved file that lent its config, for source "saved". */
  from?: string;
}

/**
 * A delegate config for releasing or collecting when no saved config of the attachment is usable:
 * rendered from subnet.env as ADD would; else borrowed from any saved config of the same network
 * (after a reboot /run is empty until flanneld starts, /var/lib/cni/flannel is not); else only
 * what a release needs (network name, delegate and IPAM types, the IPAM's own keys such as dataDir).
 */
export function fallbackConfig(conf: FlannelConfig, store: SavedConfigStore): Fallback {
  let subnetEnvError: SubnetEnvError | undefined;
  try {
    return { config: buildDelegateConfig(conf, loadSubnetEnv(conf.subnetFile)), source: "subnet.env" };
  } catch (e) {
    if (!(e instanceof SubnetEnvError)) throw e;
    subnetEnvError = e;
  }
  const borrowed = newestOfNetwork(conf, store);
  if (borrowed) {
    const config = { ...borrowed.config };
    delete config.runtimeConfig;
    if (conf.runtimeConfig) config.runtimeConfig = conf.runtimeConfig;
    if (conf.cniVersion !== "") config.cniVersion = conf.cniVersion;
    return { config, source: "saved", subnetEnvError, from: borrowed.file };
  }
  return { config: buildReleaseConfig(conf), source: "defaults", subnetEnvError };
}

function newestOfNetwork(
  conf: FlannelConfig,
  store: SavedConfigStore,
): { file: string; config: DelegateConfig } | undefined {
  let best: { file: string; config: DelegateConfig; mtimeMs: number } | undefined;
  for (const { file } of store.list()) {
    const saved = store.read(file);
    if (!saved?.config || saved.config.name !== conf.name) continue;
    if (!best || saved.mtimeMs > best.mtimeMs) best = { file, config: saved.config, mtimeMs: saved.mtimeMs };
  }
  return best;
}
