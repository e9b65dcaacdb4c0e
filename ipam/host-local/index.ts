import { validAttachments } from "../../shared/cni/attachments.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation, Plugin } from "../../shared/cni/plugin.js";
import type { Attachment } from "./allocator.js";
import { loadIpamConfig, loadStoreLocation } from "./config.js";
import { addAddresses, checkAddresses, collectGarbage, releaseAddresses, storeStatus } from "./operations.js";

export type { Attachment } from "./allocator.js";
export { type IpamConfig, loadIpamConfig, loadStoreLocation } from "./config.js";
export { addAddresses, checkAddresses, collectGarbage, releaseAddresses, storeStatus } from "./operations.js";

const ENV_ARGS = ["IP"];

function attachment(inv: Invocation): Attachment {
  return { containerId: inv.env.containerId, ifname: inv.env.ifname };
}

function config(inv: Invocation) {
  return loadIpamConfig(inv.raw, inv.cniArgs(ENV_ARGS));
}

export const plugin: Plugin = {
  name: "host-local",
  about: "CNI host-local plugin (cni-ts)",
  add(inv) {
    return addAddresses(config(inv), attachment(inv), { note: (m) => inv.trace.note(m) });
  },
  del(inv) {
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
  },
  check(inv) {
    checkAddresses(config(inv), attachment(inv));
  },
  gc(inv) {
    const released = collectGarbage(loadStoreLocation(inv.raw), validAttachments(inv.raw) ?? []);
    if (released.length > 0) inv.trace.note(`host-local: GC released ${released.join(" ")}`);
  },
  status(inv) {
    storeStatus(config(inv));
  },
};
