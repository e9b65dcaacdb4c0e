import { validAttachments } from "../../shared/cni/attachments.js";
import { delegate } from "../../shared/cni/delegate.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import { loadBridgeConf } from "./config.js";
import { gcMasq } from "./masq.js";

/** GC: IPAM's own GC, then masquerade rules of this network whose attachment is no longer valid. */
export async function gc(inv: Invocation): Promise<void> {
  const conf = loadBridgeConf(inv, { forDel: true });
  const valid = validAttachments(inv.raw);
  if (conf.ipamType !== "") await delegate(inv, conf.ipamType, "GC", inv.stdin);
  // Without the list nothing is known to be stale: removing every rule would cut live pods off.
  if (valid === undefined) {
    inv.trace.note("GC without cni.dev/valid-attachments: masquerade rules left alone");
    return;
  }
  gcMasq(conf.name, valid, (m) => inv.trace.note(m));
}

/** STATUS: the bridge itself is always ready; IPAM decides (e.g. an exhausted range). */
export async function status(inv: Invocation): Promise<void> {
  const conf = loadBridgeConf(inv, { forDel: true });
  if (conf.ipamType !== "") await delegate(inv, conf.ipamType, "STATUS", inv.stdin);
}
