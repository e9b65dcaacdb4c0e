import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";
import { delegate } from "../../shared/cni/delegate.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import { loadBridgeConf } from "./config.js";
import { gcMasq } from "./masq.js";

const AttachmentsSchema = z.nullish(z.array(z.looseObject({ containerID: z.string(), ifname: z.string() })));

/** GC: IPAM's own GC, then masquerade rules of this network whose attachment is no longer valid. */
export async function gc(inv: Invocation): Promise<void> {
  const conf = loadBridgeConf(inv, { forDel: true });
  const raw = inv.raw["cni.dev/valid-attachments"] ?? inv.raw["cni.dev/attachments"];
  const listed = parseWith(AttachmentsSchema, raw, "cni.dev/valid-attachments");
  if (conf.ipamType !== "") await delegate(inv, conf.ipamType, "GC", inv.stdin);
  // Without the list nothing is known to be stale: removing every rule would cut live pods off.
  if (listed === undefined || listed === null) {
    inv.trace.note("GC without cni.dev/valid-attachments: masquerade rules left alone");
    return;
  }
  const valid = listed.map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
  gcMasq(conf.name, valid, (m) => inv.trace.note(m));
}

/** STATUS: the bridge itself is always ready; IPAM decides (e.g. an exhausted range). */
export async function status(inv: Invocation): Promise<void> {
  const conf = loadBridgeConf(inv, { forDel: true });
  if (conf.ipamType !== "") await delegate(inv, conf.ipamType, "STATUS", inv.stdin);
}
