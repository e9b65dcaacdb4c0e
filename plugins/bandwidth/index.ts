/**
 * bandwidth: shapes a pod's traffic with token buckets (upstream's tbf/ifb layout, see shaping.ts),
 * as a chained plugin after the one that made its veth.
 */
import type { Plugin } from "../../shared/cni/plugin.js";
import { add, check, del, gc, status } from "./verbs.js";

export const plugin: Plugin = {
  name: "bandwidth",
  about: "CNI bandwidth plugin (cni-ts)",
  add,
  del,
  check,
  gc,
  status,
};
