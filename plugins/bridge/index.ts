/** The bridge plugin: cni0 and veth pairs into pod namespaces (upstream's bridge, verb for verb). */
import type { Plugin } from "../../shared/cni/plugin.js";
import { add } from "./add.js";
import { check } from "./check.js";
import { del } from "./del.js";
import { gc, status } from "./gc-status.js";

export const plugin: Plugin = {
  name: "bridge",
  about: "CNI bridge plugin (cni-ts)",
  add,
  del,
  check,
  gc,
  status,
};
