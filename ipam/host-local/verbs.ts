/**
 * host-local's verbs: each reads the IPAM config (or only the store location where the ranges do
 * not matter) and calls one operation of operations.ts on the attachment (container ID, ifname).
 */
import { validAttachments } from "../../shared/cni/attachments.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import type { Attachment } from "./allocator.js";
import { type IpamConfig, loadIpamConfig, loadStoreLocation } from "./config.js";
import { addAddresses, checkAddresses, collectGarbage, releaseAddresses, storeStatus } from "./operations.js";

/** CNI_ARGS keys host-local reads (IP=… asks for given addresses). */
const ENV_ARGS = ["IP"];

function attachment(inv: Invocation): Attachment {
  return { containerId: inv.env.containerId, ifname: inv.env.ifname };
}

function config(inv: Invocation): IpamConfig {
  return loadIpamConfig(inv.raw, inv.cniArgs(ENV_ARGS));
}

export function add(inv: Invocation): Result {
  return addAddresses(config(inv), attachment(inv), { note: (m) => inv.trace.note(m) });
}

export function del(inv: Invocation): void {
  // Releasing needs only the store location: a config whose ranges no longer validate must
  // not leave its reservations behind (upstream fails such a DEL).
  let alsoLegacy = false;
  try {
    alsoLegacy = config(inv).rangeSets.length > 1;
  } catch (e) {
    if (!(e instanceof CniError) || e.code !== ErrorCode.InvalidNetworkConfig) throw e;
    inv.trace.note(`host-local: releasing despite an invalid config: ${e.message}`);
  }
  releaseAddresses(loadStoreLocation(inv.raw), attachment(inv), alsoLegacy);
}

export function check(inv: Invocation): void {
  checkAddresses(config(inv), attachment(inv));
}

export function gc(inv: Invocation): void {
  const released = collectGarbage(loadStoreLocation(inv.raw), validAttachments(inv.raw) ?? []);
  if (released.length > 0) inv.trace.note(`host-local: GC released ${released.join(" ")}`);
}

export function status(inv: Invocation): void {
  storeStatus(config(inv));
}
