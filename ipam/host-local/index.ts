/** host-local: addresses from configured ranges, one reservation file per address in a flock'd store. */
import type { Plugin } from "../../shared/cni/plugin.js";
import { add, check, del, gc, status } from "./verbs.js";

export const plugin: Plugin = {
  name: "host-local",
  about: "CNI host-local plugin (cni-ts)",
  add,
  del,
  check,
  gc,
  status,
};
